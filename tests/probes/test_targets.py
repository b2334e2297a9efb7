"""The probe URL for each kind of asset, and the verdict on an answer."""

import pytest

from disclosure.probes.models import Verdict
from disclosure.probes.targets import probe_url, verdict_for


@pytest.mark.parametrize(
    ("kind", "provider", "identifier", "region", "expected"),
    [
        ("s3_bucket", "aws", "s3://acme-backups", "", "https://acme-backups.s3.amazonaws.com/?list-type=2"),
        ("s3_bucket", "aws", "acme-backups", "eu-west-1", "https://acme-backups.s3.eu-west-1.amazonaws.com/?list-type=2"),
        ("s3_bucket", "aws", "acme.backups", "", "https://s3.amazonaws.com/acme.backups?list-type=2"),
        ("s3_bucket", "aws", "https://acme.s3.amazonaws.com/", "", "https://acme.s3.amazonaws.com/?list-type=2"),
        ("blob_container", "azure", "bluebleed/data", "", "https://bluebleed.blob.core.windows.net/data?restype=container&comp=list"),
        ("blob_container", "azure", "https://acct.blob.core.windows.net/c1", "", "https://acct.blob.core.windows.net/c1?restype=container&comp=list"),
        ("blob_container", "azure", "https://acct.blob.core.windows.net/c1?restype=container&comp=list", "", "https://acct.blob.core.windows.net/c1?restype=container&comp=list"),  # noqa: E501
        ("blob_container", "azure", "justanaccount", "", None),
        ("gcs_bucket", "gcp", "gs://leaky", "", "https://storage.googleapis.com/leaky"),
        ("elasticsearch_index", "self_hosted", "es.example.org", "", "http://es.example.org:9200/_cat/indices?format=json"),
        ("elasticsearch_index", "self_hosted", "https://es.example.org:9243/customers", "", "https://es.example.org:9243/_cat/indices?format=json"),
        ("api", "other", "https://api.example.org/v1/users", "", "https://api.example.org/v1/users"),
        ("other", "other", "files.example.org", "", "https://files.example.org/"),
        ("database", "self_hosted", "db.example.org:5432", "", None),
        ("other", "other", "an internal share", "", None),
    ],
)  # fmt: skip
def test_probe_url_per_provider(kind, provider, identifier, region, expected):
    assert probe_url(kind=kind, provider=provider, identifier=identifier, region=region) == expected


def test_override_wins():
    assert (
        probe_url(kind="s3_bucket", provider="aws", identifier="b", override=" https://x.example/ ")
        == "https://x.example/"
    )


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.PUBLIC),
        (206, Verdict.PUBLIC),
        (401, Verdict.NOT_PUBLIC),
        (403, Verdict.NOT_PUBLIC),
        (404, Verdict.NOT_PUBLIC),
        (410, Verdict.NOT_PUBLIC),
        (301, Verdict.ERROR),
        (429, Verdict.ERROR),
        (500, Verdict.ERROR),
        (503, Verdict.ERROR),
    ],
)
def test_verdict_for(status, verdict):
    assert verdict_for(status) == verdict
