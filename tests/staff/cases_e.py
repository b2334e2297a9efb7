"""Cases with known attributes for the case list and dashboard tests (helper
module, not a test module)."""

from dataclasses import dataclass
from datetime import timedelta

from disclosure.affected.services import file_dispute
from disclosure.cases import services
from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.core.timeutils import now
from tests.factories import capture, make_case


@dataclass
class Trio:
    """A: notified ten days ago under "Exposure 30", never acknowledged
    (overdue), critical, TLP:RED, Azure blob, PII and e-mail, assigned to the
    analyst. B: found twenty days ago, never notified (no deadline), low,
    TLP:GREEN, AWS S3 at the other vendor, credentials, on legal hold.
    C: secured a day ago under "Standard 90" (acknowledgement due within the
    week), high, TLP:AMBER, GCP Elasticsearch, financial, disputed."""

    a: Case
    b: Case
    c: Case


def make_trio(*, analyst, legal, vendor, other_vendor) -> Trio:
    exposure_30 = DisclosurePolicy.objects.get(name="Exposure 30")
    standard = DisclosurePolicy.objects.get(name="Standard 90")
    a = make_case(
        "vendor_notified", actor=analyst, vendor=vendor, start=now() - timedelta(days=10),
        title="BlueBleed container", summary="Customer e-mails in a public container",
        asset_provider="azure", asset_kind="blob_container",
        asset_identifier="https://bluebleed.blob.core.windows.net/backup",
        severity="critical", tlp="red", data_categories=["pii", "email_content"],
        assignee=analyst, policy=exposure_30, exposure_evidence=[capture(b"a")],
    )  # fmt: skip
    b = make_case(
        "found", actor=analyst, vendor=other_vendor, start=now() - timedelta(days=20),
        title="Backup bucket", asset_provider="aws", asset_kind="s3_bucket",
        asset_identifier="s3://fabrikam-backups", severity="low", tlp="green",
        data_categories=["credentials"], exposure_evidence=[capture(b"b")],
    )  # fmt: skip
    services.set_legal_hold(actor=legal, case=b, on=True, reason="Litigation pending")
    c = make_case(
        "secured", actor=analyst, vendor=vendor, start=now() - timedelta(days=1),
        title="Search cluster", asset_provider="gcp", asset_kind="elasticsearch_index",
        asset_identifier="es.contoso.example:9200", severity="high", tlp="amber",
        data_categories=["financial"], policy=standard, exposure_evidence=[capture(b"c")],
    )  # fmt: skip
    file_dispute(
        actor=analyst, case=c, subject="Affected count", firm_position="65,000",
        firm_provenance="Our index", vendor_position="Fewer", vendor_provenance="Their audit",
    )  # fmt: skip
    return Trio(*(Case.objects.get(pk=x.pk) for x in (a, b, c)))


def bulk_cases(n: int, *, actor, vendor) -> None:
    """``n`` cases of ten events each, written in bulk (bench generator)."""
    from bench.bulkgen import generate

    generate(n, actor=actor, vendor=vendor, policy=DisclosurePolicy.objects.first())
