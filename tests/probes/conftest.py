"""Fixtures of the re-probe tests: a real HTTP server on 127.0.0.1 standing
for the exposed asset, the setting that allows loopback, and cases whose
asset is that server."""

from datetime import timedelta

import pytest

from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from tests.factories import make_case
from tests.localhttp import Answer, local_server

LISTING = b'<?xml version="1.0"?><EnumerationResults><Blobs><Blob><Name>customers.csv</Name></Blob></Blobs></EnumerationResults>'  # noqa: E501
DENIED = b'<?xml version="1.0"?><Error><Code>PublicAccessNotPermitted</Code></Error>'


@pytest.fixture
def asset():
    """The exposed container: answers its listing publicly until a test
    changes ``asset.answers["/container"]``."""
    with local_server() as server:
        server.answers["/container"] = Answer(
            200, LISTING, {"Content-Type": "application/xml", "x-ms-request-id": "r-1"}
        )
        yield server


@pytest.fixture
def loopback_allowed(settings):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = True
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = []
    settings.DISCLOSURE_PROBE_TIMEOUT = 3.0


@pytest.fixture
def private_refused(settings):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = []
    settings.DISCLOSURE_PROBE_TIMEOUT = 3.0


def asset_case(stage, *, analyst, vendor, identifier, kind="blob_container", provider="azure"):
    """A case at ``stage`` (stages an hour apart from ten days ago) whose
    asset is ``identifier``."""
    return make_case(
        stage,
        actor=analyst,
        vendor=vendor,
        asset_provider=provider,
        asset_kind=kind,
        asset_identifier=identifier,
    )


@pytest.fixture
def notified_case(asset, analyst, vendor):
    return asset_case(
        Stage.VENDOR_NOTIFIED,
        analyst=analyst,
        vendor=vendor,
        identifier=asset.url("/container"),
    )


def later(hours: float = 0) -> object:
    """A run time ``hours`` from now (past every schedule due by then)."""
    return now() + timedelta(hours=hours, seconds=1)
