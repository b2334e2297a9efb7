"""Opening a case: what it writes, the exposure evidence it needs, the details
it refuses, and its reference. A refused opening writes nothing."""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case, ReferenceCounter
from disclosure.cases.stages import Stage
from disclosure.core.errors import (
    DuplicateEvidence,
    EvidenceRequired,
    NotPermitted,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import kinds
from tests.factories import capture, make_case

pytestmark = pytest.mark.django_db

S = Stage


def open_kwargs(**overrides):
    return {
        "title": "Exposed container",
        "asset_provider": "azure",
        "asset_kind": "blob_container",
        "asset_identifier": "https://acct.blob.core.windows.net/backup",
        "how_found": "Search engine for open buckets",
        "found_at": now() - timedelta(days=3),
        "exposure_evidence": [capture()],
        **overrides,
    }


# --- open_case --------------------------------------------------------------


def test_open_case_writes_the_case_the_opening_event_and_the_evidence(analyst, vendor):
    case = services.open_case(actor=analyst, vendor=vendor, **open_kwargs(severity="high"))
    assert case.stage == S.FOUND
    assert case.severity == "high"
    assert case.policy.name == "Standard 90"
    assert kinds(case) == [
        EventKind.CASE_OPENED,
        EventKind.INTERNAL_DETAILS,
        EventKind.EVIDENCE_ATTACHED,
    ]
    opened = CaseEvent.objects.get(case=case, seq=1)
    assert opened.payload["details"]["vendor"] == {"id": vendor.pk, "name": "Contoso"}
    assert opened.payload["follows_up"] is None
    # The firm's own business is in an internal event, not in case_opened.
    assert not opened.internal
    assert {"how_found", "severity", "assignee", "time_zone"}.isdisjoint(opened.payload["details"])
    internal = CaseEvent.objects.get(case=case, seq=2)
    assert internal.internal
    assert internal.payload == {
        "details": {
            "how_found": "Search engine for open buckets",
            "severity": "high",
            "assignee": None,
            "time_zone": "UTC",
        }
    }
    assert EvidenceFile.objects.get(case=case).kind == EvidenceKind.EXPOSURE_CAPTURE
    assert verify_case(case).ok


@pytest.mark.parametrize(
    "evidence",
    [
        list,
        lambda: [capture(kind=EvidenceKind.OTHER)],
        lambda: [capture(kind=EvidenceKind.RETEST_RESULT), capture(b"x", kind=EvidenceKind.NOTICE)],
    ],
    ids=["none", "other-only", "no-exposure-kind"],
)
def test_open_case_without_exposure_evidence_writes_nothing(evidence, analyst, vendor):
    with pytest.raises(EvidenceRequired, match="capture or screenshot") as exc:
        services.open_case(
            actor=analyst, vendor=vendor, **open_kwargs(exposure_evidence=evidence())
        )
    assert exc.value.field == "exposure_evidence"
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not EvidenceFile.objects.exists()
    # No reference was consumed: the next case is number 1.
    case = services.open_case(actor=analyst, vendor=vendor, **open_kwargs())
    assert case.reference.endswith("-0001")


def test_open_case_with_a_screenshot_only_is_enough(analyst, vendor):
    case = services.open_case(
        actor=analyst,
        vendor=vendor,
        **open_kwargs(exposure_evidence=[capture(kind=EvidenceKind.SCREENSHOT)]),
    )
    assert case.stage == S.FOUND


@pytest.mark.parametrize(
    ("evidence", "error", "match"),
    [
        (lambda: [capture(), capture()], DuplicateEvidence, "already attached"),
        (lambda: [capture(), capture(b"", name="empty.png")], ValidationFailed, "empty"),
        (lambda: [capture(), capture(kind="bogus")], ValidationFailed, "Unknown evidence kind"),
    ],
    ids=["duplicate", "empty-second-file", "bad-kind"],
)
def test_open_case_failing_on_a_later_file_rolls_everything_back(
    evidence, error, match, analyst, vendor
):
    with pytest.raises(error, match=match):
        services.open_case(
            actor=analyst, vendor=vendor, **open_kwargs(exposure_evidence=evidence())
        )
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert not EvidenceFile.objects.exists()
    assert not ReferenceCounter.objects.filter(last_number__gt=0).exists()


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("title", "  ", "title is required"),
        ("how_found", "", "how found is required"),
        ("asset_identifier", None, "asset identifier is required"),
        ("asset_provider", "dropbox", "Unknown asset provider"),
        ("asset_kind", "tape", "Unknown asset kind"),
        ("severity", "apocalyptic", "Unknown severity"),
        ("tlp", "white", "Unknown tlp"),
        ("data_categories", ["pii", "gossip"], "gossip"),
        ("volume_bytes", -1, "whole number"),
        ("affected_entity_count", True, "whole number"),
        ("records_by_kind", {"emails": "many"}, "whole number"),
        ("time_zone", "Mars/Olympus", "Unknown time zone"),
        ("data_from", "2022-01-01", "must be a date"),
        ("nickname", "x", "Unknown case field"),
    ],
)
def test_open_case_refuses_bad_details(field, value, match, analyst, vendor):
    with pytest.raises(ValidationFailed, match=match):
        services.open_case(actor=analyst, vendor=vendor, **open_kwargs(**{field: value}))
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("field", "limit"), [("title", 300), ("asset_identifier", 1000), ("asset_region", 100)]
)
def test_open_case_refuses_text_longer_than_its_column(field, limit, analyst, vendor):
    """Checked by the service, so SQLite (which does not enforce lengths) and
    PostgreSQL answer alike."""
    with pytest.raises(ValidationFailed, match=f"longer than {limit}") as exc:
        services.open_case(
            actor=analyst, vendor=vendor, **open_kwargs(**{field: "x" * (limit + 1)})
        )
    assert exc.value.field == field
    assert not Case.objects.exists()
    case = services.open_case(actor=analyst, vendor=vendor, **open_kwargs(**{field: "x" * limit}))
    case.refresh_from_db()
    assert getattr(case, field) == "x" * limit


def test_open_case_refuses_a_firm_as_vendor(analyst, firm):
    with pytest.raises(ValidationFailed, match="vendor organization"):
        services.open_case(actor=analyst, vendor=firm, **open_kwargs())
    assert not Case.objects.exists()


def test_open_case_refuses_a_vendor_contact_as_assignee(analyst, vendor, vendor_contact):
    with pytest.raises(ValidationFailed, match="staff members only"):
        services.open_case(actor=analyst, vendor=vendor, **open_kwargs(assignee=vendor_contact))


@pytest.mark.parametrize("fixture", ["legal", "vendor_contact", "other_vendor_contact", "outsider"])
def test_open_case_is_for_analysts_leads_and_admins(fixture, request, vendor):
    actor = request.getfixturevalue(fixture)
    with pytest.raises(NotPermitted, match="open case"):
        services.open_case(actor=actor, vendor=vendor, **open_kwargs())
    assert not Case.objects.exists()


def test_references_follow_the_year_found_and_increase(analyst, vendor):
    this_year = now().year
    refs = [
        services.open_case(
            actor=analyst,
            vendor=vendor,
            **open_kwargs(exposure_evidence=[capture(f"{i}".encode())]),
        ).reference
        for i in range(3)
    ]
    assert refs == [f"DSC-{this_year}-{n:04d}" for n in (1, 2, 3)]
    old = services.open_case(
        actor=analyst,
        vendor=vendor,
        **open_kwargs(found_at=now().replace(year=2022), exposure_evidence=[capture(b"old")]),
    )
    assert old.reference == "DSC-2022-0001"
    nxt = services.open_case(
        actor=analyst, vendor=vendor, **open_kwargs(exposure_evidence=[capture(b"next")])
    )
    assert nxt.reference == f"DSC-{this_year}-0004"


def test_reference_year_is_the_utc_year_of_the_finding(analyst, vendor):
    from datetime import datetime, timezone

    new_york = timezone(timedelta(hours=-5))
    case = make_case(
        actor=analyst, vendor=vendor, found_at=datetime(2022, 12, 31, 20, 30, tzinfo=new_york)
    )
    assert case.reference.startswith("DSC-2023-")


@pytest.mark.parametrize("field", ["title", "how_found", "summary"])
def test_text_fields_must_be_text(field, analyst, vendor):
    with pytest.raises(ValidationFailed, match="must be text") as exc:
        make_case(actor=analyst, vendor=vendor, **{field: ["not", "text"]})
    assert exc.value.field == field
    assert not Case.objects.exists()
