"""What each stage must carry, and the rules of the other case services
(details, legal hold, follow-ups, references). Every refusal leaves the case,
its records and its ledger exactly as they were."""

import io
from datetime import date, timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case, ReferenceCounter
from disclosure.cases.stages import STAGE_TIME_FIELD, CloseReason, Stage
from disclosure.comms.models import Communication
from disclosure.core.errors import (
    DuplicateEvidence,
    EvidenceRequired,
    LegalHoldActive,
    NotPermitted,
    TransitionNotAllowed,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation, EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import SHA, VendorFactory, capture, deletion_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage
JUSTIFICATION = "Vendor silent for 120 days; users must rotate their keys."


def state(case: Case) -> dict:
    case.refresh_from_db()
    return {
        "stage": case.stage,
        **{f: getattr(case, f) for f in STAGE_TIME_FIELD.values()},
        "details": {
            f: getattr(case, f)
            for f in ("title", "summary", "vendor_id", "severity", "data_from", "data_to")
        },
        "legal_hold": case.legal_hold,
        "close_reason": case.close_reason,
        "publication": (case.publication_url, case.publication_title),
        "events": list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True)),
        "communications": Communication.objects.filter(case=case).count(),
        "evidence": EvidenceFile.objects.filter(case=case).count(),
        "attestation": DeletionAttestation.objects.filter(case=case).exists(),
    }


def kinds(case: Case) -> list[str]:
    return list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("kind", flat=True))


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
    assert kinds(case) == [EventKind.CASE_OPENED, EventKind.EVIDENCE_ATTACHED]
    opened = CaseEvent.objects.get(case=case, seq=1)
    assert opened.payload["details"]["vendor"] == {"id": vendor.pk, "name": "Contoso"}
    assert opened.payload["follows_up"] is None
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


# --- notify_vendor ------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"recipients": []}, ValidationFailed, "to whom"),
        ({"recipients": ["  ", ""]}, ValidationFailed, "to whom"),
        ({"sender": " "}, ValidationFailed, "who sent"),
        ({"channel": "pigeon"}, ValidationFailed, "Unknown channel"),
        ({"subject": "", "body": " "}, ValidationFailed, "subject, a body or an attachment"),
    ],
)
def test_notify_vendor_needs_a_complete_notice(changes, error, match, lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    kwargs = {
        "occurred_at": now() - timedelta(hours=1),
        "channel": "email",
        "sender": "research@firm.example",
        "recipients": ["security@contoso.example"],
        "subject": "Exposure",
        "body": "Your container is public.",
        **changes,
    }
    with pytest.raises(error, match=match):
        services.notify_vendor(actor=lead, case=case, **kwargs)
    assert state(case) == before
    assert not Communication.objects.filter(case=case).exists()


def test_notify_vendor_logs_the_notice_as_an_outbound_communication(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    at = now() - timedelta(hours=1)
    case = services.notify_vendor(
        actor=lead,
        case=case,
        occurred_at=at,
        channel="email",
        sender="research@firm.example",
        recipients=[" security@contoso.example ", ""],
        subject="Exposure",
        body="Your container is public.",
        attachments=[IncomingFile("notice.pdf", io.BytesIO(b"%PDF-1.4 notice"))],
        note="first contact",
    )
    assert (case.stage, case.vendor_notified_at) == (S.VENDOR_NOTIFIED, at)
    notice = Communication.objects.get(case=case)
    assert (notice.direction, notice.channel, notice.recipients) == (
        "outbound",
        "email",
        ["security@contoso.example"],
    )
    assert notice.attachments.get().kind == EvidenceKind.ATTACHMENT
    stage = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert stage.kind == EventKind.STAGE_CHANGED
    assert stage.payload["notice_communication_id"] == notice.pk
    assert stage.payload["note"] == "first contact"
    assert kinds(case)[-3:] == [
        EventKind.EVIDENCE_ATTACHED,
        EventKind.COMMUNICATION_LOGGED,
        EventKind.STAGE_CHANGED,
    ]


# --- secure -------------------------------------------------------------------


def test_secure_by_staff_needs_a_retest_or_a_confirmation(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(EvidenceRequired, match="re-test result or the vendor's confirmation"):
        services.secure(actor=lead, case=case, occurred_at=now(), retest_result="   ")
    assert state(case) == before


def test_secure_with_a_retest_and_files(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = services.secure(
        actor=lead,
        case=case,
        occurred_at=now(),
        retest_result=" HTTP 403 ",
        evidence=[IncomingFile("retest.txt", io.BytesIO(b"HTTP/1.1 403"))],
    )
    assert case.stage == S.SECURED
    ev = EvidenceFile.objects.get(case=case, kind=EvidenceKind.RETEST_RESULT)
    stage = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert stage.payload["basis"] == "retest"
    assert stage.payload["retest_result"] == "HTTP 403"
    assert stage.payload["evidence"] == [ev.sha256]
    assert stage.payload["confirmed_by_vendor_contact"] is False


def test_secure_by_the_vendor_contact_is_its_own_confirmation(lead, vendor_contact, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = services.secure(actor=vendor_contact, case=case, occurred_at=now())
    assert case.stage == S.SECURED
    stage = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert stage.payload["basis"] == "vendor_confirmation"
    assert stage.payload["confirmed_by_vendor_contact"] is True
    assert stage.actor_snapshot["role"] == "vendor_contact"


def _inbound(case, actor, body="It is closed now."):
    return services.log_communication(
        actor=actor,
        case=case,
        direction="inbound",
        channel="email",
        sender="security@contoso.example",
        recipients=["research@firm.example"],
        body=body,
        occurred_at=now() - timedelta(minutes=30),
    )


def test_secure_with_the_vendors_inbound_confirmation(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    confirmation = _inbound(case, lead)
    case = services.secure(actor=lead, case=case, occurred_at=now(), confirmation=confirmation)
    stage = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert stage.payload["basis"] == "vendor_confirmation"
    assert stage.payload["confirmation_communication_id"] == confirmation.pk


def test_secure_refuses_an_outbound_message_as_confirmation(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    notice = Communication.objects.get(case=case)
    before = state(case)
    with pytest.raises(ValidationFailed, match="message from the vendor") as exc:
        services.secure(actor=lead, case=case, occurred_at=now(), confirmation=notice)
    assert exc.value.field == "confirmation"
    assert state(case) == before


def test_secure_refuses_a_confirmation_from_another_case(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    other = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    confirmation = _inbound(other, lead)
    before = state(case)
    with pytest.raises(ValidationFailed, match="logged on this case"):
        services.secure(actor=lead, case=case, occurred_at=now(), confirmation=confirmation)
    assert state(case) == before


# --- record_deletion ----------------------------------------------------------


@pytest.fixture
def secured_case(lead, vendor):
    return make_case(S.SECURED, actor=lead, vendor=vendor)


def _deletion(secured_case, lead, analyst, **changes):
    kwargs = {**deletion_kwargs(lead, analyst, now() - timedelta(minutes=5)), **changes}
    return services.record_deletion(actor=lead, case=secured_case, **kwargs)


@pytest.mark.parametrize("items", [None, []])
def test_deletion_without_items_needs_evidence(items, secured_case, lead, analyst):
    before = state(secured_case)
    with pytest.raises(EvidenceRequired, match="manifest") as exc:
        _deletion(secured_case, lead, analyst, items=items)
    assert exc.value.field == "items"
    assert state(secured_case) == before


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"path": "a", "bytes": 1, "sha256": "abc"}, "64 hex digits"),
        ({"path": "a", "bytes": 1, "sha256": "g" * 64}, "64 hex digits"),
        ({"path": "a", "bytes": 1}, "64 hex digits"),
        ({"path": "a", "bytes": -1, "sha256": SHA}, "size in bytes"),
        ({"path": "a", "bytes": "1024", "sha256": SHA}, "size in bytes"),
        ({"path": "a", "bytes": True, "sha256": SHA}, "size in bytes"),
        ({"path": " ", "bytes": 1, "sha256": SHA}, "no path"),
        ("copies/a.tar", "not an object"),
    ],
)
def test_deletion_with_a_bad_item_is_refused(item, match, secured_case, lead, analyst):
    before = state(secured_case)
    with pytest.raises(ValidationFailed, match=match):
        _deletion(secured_case, lead, analyst, items=[item])
    assert state(secured_case) == before


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"method": "shred"}, ValidationFailed, "Unknown deletion method"),
        ({"tool": " "}, ValidationFailed, "Name the tool"),
        ({"tool": "t" * 201}, ValidationFailed, "too long"),
        ({"verification": ""}, EvidenceRequired, "how the deletion was verified"),
        ({"retention_reason": " "}, ValidationFailed, "why metadata is retained"),
    ],
)
def test_deletion_attestation_rules(changes, error, match, secured_case, lead, analyst):
    before = state(secured_case)
    with pytest.raises(error, match=match):
        _deletion(secured_case, lead, analyst, **changes)
    assert state(secured_case) == before


def test_deletion_verified_by_the_performer_is_refused(secured_case, lead):
    before = state(secured_case)
    with pytest.raises(ValidationFailed, match="someone other than") as exc:
        services.record_deletion(
            actor=lead,
            case=secured_case,
            **deletion_kwargs(lead, lead, now() - timedelta(minutes=5)),
        )
    assert exc.value.field == "verified_by"
    assert state(secured_case) == before


def test_deletion_without_a_verifier_is_refused(secured_case, lead):
    before = state(secured_case)
    with pytest.raises(EvidenceRequired, match="who verified") as exc:
        services.record_deletion(
            actor=lead,
            case=secured_case,
            **deletion_kwargs(lead, None, now() - timedelta(minutes=5)),
        )
    assert exc.value.field == "verified_by"
    assert state(secured_case) == before


def test_deletion_performed_or_verified_by_a_vendor_contact_is_refused(
    secured_case, lead, vendor_contact
):
    before = state(secured_case)
    with pytest.raises(ValidationFailed, match="performed by a staff member"):
        _deletion(secured_case, lead, None, performed_by=vendor_contact)
    with pytest.raises(ValidationFailed, match="verifier must be a staff member"):
        _deletion(secured_case, lead, vendor_contact)
    assert state(secured_case) == before


def test_deletion_with_nothing_retained_needs_no_reason(secured_case, lead, analyst):
    case = _deletion(secured_case, lead, analyst, retained_metadata=[" ", ""], retention_reason="")
    assert case.deletion_attestation.retained_metadata == []


def test_deletion_writes_the_attestation_then_the_stage(secured_case, lead, analyst):
    log = IncomingFile("shred.log", io.BytesIO(b"shred: pass 3/3"), kind="other")
    case = _deletion(secured_case, lead, analyst, evidence=[log])
    attestation = DeletionAttestation.objects.get(case=case)
    assert attestation.total_bytes == 1024
    assert attestation.items == [{"path": "copies/container.tar", "bytes": 1024, "sha256": SHA}]
    assert attestation.evidence.get().kind == EvidenceKind.DELETION_LOG
    assert kinds(case)[-3:] == [
        EventKind.EVIDENCE_ATTACHED,
        EventKind.DELETION_ATTESTED,
        EventKind.STAGE_CHANGED,
    ]
    stage, attested = CaseEvent.objects.filter(case=case).order_by("-seq")[:2]
    assert attested.payload["content_sha256"] == attestation.content_sha256
    assert stage.payload["attestation_sha256"] == attestation.content_sha256
    assert case.data_deleted_at == attestation.performed_at


# --- publish ------------------------------------------------------------------


def _publish(case, actor, **changes):
    kwargs = {
        "occurred_at": now(),
        "url": "https://firm.example/advisories/bluebleed",
        "title": "BlueBleed",
        **changes,
    }
    return services.publish(actor=actor, case=case, **kwargs)


def test_publish_before_secured_by_an_analyst_is_refused(analyst, lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(NotPermitted, match="lead's override"):
        _publish(case, analyst, override_justification=JUSTIFICATION)
    assert state(case) == before


@pytest.mark.parametrize("justification", ["", "   ", "too short, sorry", " " * 30 + "x" * 19])
def test_publish_before_secured_needs_a_written_justification(justification, lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="at least 20 characters") as exc:
        _publish(case, lead, override_justification=justification)
    assert exc.value.field == "override_justification"
    assert state(case) == before


def test_publish_before_secured_with_a_leads_override(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    n = len(kinds(case))
    case = _publish(case, lead, override_justification="x" * 20)
    assert case.stage == S.PUBLISHED
    override, stage = CaseEvent.objects.filter(case=case, seq__gt=n).order_by("seq")
    assert override.kind == EventKind.OVERRIDE_GRANTED
    assert override.payload == {
        "action": "publish",
        "stage": S.VENDOR_NOTIFIED,
        "justification": "x" * 20,
    }
    assert override.actor_id == lead.pk
    assert stage.kind == EventKind.STAGE_CHANGED
    assert stage.payload["override"] is True
    assert case.secured_at is None


def test_publish_after_secured_writes_no_override(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    case = _publish(case, lead, override_justification=JUSTIFICATION)
    assert case.publication_url == "https://firm.example/advisories/bluebleed"
    assert case.publication_title == "BlueBleed"
    assert EventKind.OVERRIDE_GRANTED not in kinds(case)
    assert CaseEvent.objects.filter(case=case).order_by("-seq")[0].payload["override"] is False


@pytest.mark.parametrize(
    "url",
    ["", "firm.example/advisory", "ftp://firm.example/a", "javascript:alert(1)", "https://"],
)
def test_publish_refuses_a_bad_url(url, lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="http") as exc:
        _publish(case, lead, url=url)
    assert exc.value.field == "url"
    assert state(case) == before


def test_publish_refuses_a_missing_title(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="title"):
        _publish(case, lead, title="  ")
    assert state(case) == before


@pytest.mark.parametrize(
    "changes",
    [{"url": "https://firm.example/" + "a" * 1000}, {"title": "t" * 301}],
    ids=["url", "title"],
)
def test_publish_refuses_values_longer_than_their_column(changes, lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="too long") as exc:
        _publish(case, lead, **changes)
    assert exc.value.field == next(iter(changes))
    assert state(case) == before


def test_override_with_a_bad_url_writes_no_override_event(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="http"):
        _publish(case, lead, url="nope", override_justification=JUSTIFICATION)
    assert state(case) == before


# --- close ----------------------------------------------------------------------


def test_published_case_must_close_as_published(lead, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    before = state(case)
    for reason in (CloseReason.NOT_PUBLISHED, CloseReason.INVALID, CloseReason.DUPLICATE):
        with pytest.raises(ValidationFailed, match="closes with reason 'published'"):
            services.close_case(actor=lead, case=case, reason=reason, note="some note")
    assert state(case) == before
    case = services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert (case.stage, case.close_reason) == (S.CLOSED, CloseReason.PUBLISHED)


def test_unpublished_case_cannot_close_as_published(lead, vendor):
    case = make_case(S.DATA_DELETED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="Only a published case"):
        services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    with pytest.raises(ValidationFailed, match="Unknown close reason"):
        services.close_case(actor=lead, case=case, reason="bored")
    assert state(case) == before


@pytest.mark.parametrize(
    ("reason", "match"),
    [(CloseReason.NOT_PUBLISHED, "why the case is not published"), (CloseReason.DUPLICATE, "dup")],
)
def test_not_published_and_duplicate_need_a_note(reason, match, lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match=match) as exc:
        services.close_case(actor=lead, case=case, reason=reason, note="  ")
    assert exc.value.field == "note"
    assert state(case) == before
    case = services.close_case(actor=lead, case=case, reason=reason, note=" DSC-2026-0001 ")
    stage = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert stage.payload == {
        "from": S.SECURED,
        "to": S.CLOSED,
        "milestone": S.CLOSED,
        "late": False,
        "reason": reason,
        "note": "DSC-2026-0001",
    }


def test_invalid_needs_no_note(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    case = services.close_case(actor=lead, case=case, reason=CloseReason.INVALID)
    assert (case.stage, case.close_reason) == (S.CLOSED, CloseReason.INVALID)


def test_legal_hold_blocks_closing_until_lifted(lead, legal, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    case = services.set_legal_hold(actor=legal, case=case, on=True, reason="Vendor sued")
    before = state(case)
    with pytest.raises(LegalHoldActive, match="legal hold"):
        services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert state(case) == before
    services.set_legal_hold(actor=legal, case=case, on=False, reason="Settled")
    case = services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert case.stage == S.CLOSED


# --- legal hold -----------------------------------------------------------------


@pytest.mark.parametrize("fixture", ["legal", "lead", "admin_user"])
def test_legal_hold_by_legal_lead_or_admin(fixture, request, analyst, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.FOUND, actor=analyst, vendor=vendor)
    case = services.set_legal_hold(actor=actor, case=case, on=True, reason=" Subpoena ")
    assert case.legal_hold is True
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert (event.kind, event.payload, event.actor_id) == (
        EventKind.LEGAL_HOLD_CHANGED,
        {"legal_hold": True, "reason": "Subpoena"},
        actor.pk,
    )


@pytest.mark.parametrize("fixture", ["analyst", "vendor_contact", "outsider"])
def test_legal_hold_refused_to_others(fixture, request, lead, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(NotPermitted, match="legal hold"):
        services.set_legal_hold(actor=actor, case=case, on=True, reason="x")
    assert state(case) == before


def test_legal_hold_needs_a_reason_and_a_change(legal, lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="Say why"):
        services.set_legal_hold(actor=legal, case=case, on=True, reason=" ")
    with pytest.raises(ValidationFailed, match="not under legal hold"):
        services.set_legal_hold(actor=legal, case=case, on=False, reason="lift")
    assert state(case) == before
    services.set_legal_hold(actor=legal, case=case, on=True, reason="hold")
    with pytest.raises(ValidationFailed, match="already under legal hold"):
        services.set_legal_hold(actor=legal, case=case, on=True, reason="hold again")


# --- update_details -------------------------------------------------------------


def test_update_details_records_from_and_to(lead, analyst, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    case = services.update_details(
        actor=lead,
        case=case,
        changes={
            "title": " Renamed ",
            "severity": "critical",
            "data_from": date(2017, 1, 1),
            "assignee": analyst,
            "summary": "",  # unchanged
        },
    )
    case.refresh_from_db()
    assert (case.title, case.severity, case.data_from) == ("Renamed", "critical", date(2017, 1, 1))
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == EventKind.DETAILS_UPDATED
    assert event.payload["changes"] == {
        "title": {"from": "Exposed bucket", "to": "Renamed"},
        "severity": {"from": "medium", "to": "critical"},
        "data_from": {"from": None, "to": "2017-01-01"},
        "assignee": {"from": None, "to": {"id": analyst.pk, "username": analyst.username}},
    }
    assert verify_case(case).ok


def test_update_details_without_a_change_writes_no_event(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    services.update_details(actor=lead, case=case, changes={"title": "Exposed bucket "})
    services.update_details(actor=lead, case=case, changes={})
    assert state(case) == before


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"reference": "DSC-1999-0001"}, "Unknown case field"),
        ({"stage": "closed"}, "Unknown case field"),
        ({"legal_hold": True}, "Unknown case field"),
        ({"severity": "extreme"}, "Unknown severity"),
        ({"asset_kind": "floppy"}, "Unknown asset kind"),
        ({"title": ""}, "title is required"),
        ({"data_from": date(2022, 2, 1), "data_to": date(2022, 1, 1)}, "ends before it starts"),
    ],
)
def test_update_details_refusals(changes, match, lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match=match):
        services.update_details(actor=lead, case=case, changes=changes)
    assert state(case) == before


def test_update_details_checks_one_end_of_the_range_against_the_other(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    services.update_details(actor=lead, case=case, changes={"data_to": date(2022, 1, 1)})
    before = state(case)
    with pytest.raises(ValidationFailed, match="ends before it starts"):
        services.update_details(actor=lead, case=case, changes={"data_from": date(2022, 6, 1)})
    assert state(case) == before


def test_vendor_may_change_before_notification_only(lead, vendor, other_vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    case = services.update_details(actor=lead, case=case, changes={"vendor": other_vendor})
    assert case.vendor == other_vendor
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.payload["changes"]["vendor"] == {
        "from": {"id": vendor.pk, "name": "Contoso"},
        "to": {"id": other_vendor.pk, "name": "Fabrikam"},
    }
    notified = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(notified)
    with pytest.raises(ValidationFailed, match="cannot change after it has been notified"):
        services.update_details(actor=lead, case=notified, changes={"vendor": VendorFactory()})
    # Naming the same vendor again is not a change.
    services.update_details(actor=lead, case=notified, changes={"vendor": vendor})
    assert state(notified) == before


@pytest.mark.parametrize("fixture", ["legal", "vendor_contact"])
def test_update_details_is_for_workers(fixture, request, lead, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(NotPermitted):
        services.update_details(actor=actor, case=case, changes={"title": "x"})
    assert state(case) == before


# --- follow-ups -----------------------------------------------------------------


def _follow_up(parent, actor, **kw):
    return services.open_follow_up(
        actor=actor,
        case=parent,
        found_at=kw.pop("found_at", now() - timedelta(hours=1)),
        how_found="Same container public again",
        exposure_evidence=kw.pop("exposure_evidence", [capture(b"listing, again\n")]),
        **kw,
    )


def test_follow_up_only_after_secured(lead, vendor):
    parent = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(parent)
    with pytest.raises(TransitionNotAllowed, match="re-exposure"):
        _follow_up(parent, lead)
    assert state(parent) == before
    assert Case.objects.count() == 1


def test_follow_up_links_both_cases(lead, vendor):
    parent = make_case(S.PUBLISHED, actor=lead, vendor=vendor, severity="high")
    follow_up = _follow_up(parent, lead)
    assert follow_up.follows_up == parent
    assert follow_up.stage == S.FOUND
    assert follow_up.vendor == parent.vendor
    assert follow_up.severity == "high"
    assert follow_up.asset_identifier == parent.asset_identifier
    assert follow_up.title == f"Re-exposure: {parent.title}"
    assert follow_up.reference != parent.reference
    assert list(parent.follow_ups.all()) == [follow_up]
    linked = CaseEvent.objects.filter(case=parent).order_by("-seq").first()
    assert linked.kind == EventKind.FOLLOW_UP_OPENED
    assert linked.payload == {"follow_up": follow_up.reference}
    opened = CaseEvent.objects.get(case=follow_up, seq=1)
    assert opened.payload["follows_up"] == parent.reference
    assert verify_case(parent).ok and verify_case(follow_up).ok


def test_follow_up_without_exposure_evidence_writes_nothing(lead, vendor):
    parent = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(parent)
    with pytest.raises(EvidenceRequired):
        _follow_up(parent, lead, exposure_evidence=[])
    assert state(parent) == before
    assert Case.objects.count() == 1


def test_follow_up_can_reuse_the_parents_capture(lead, vendor):
    """Evidence is unique per case, not across cases: the same capture may open
    the follow-up."""
    parent = make_case(S.SECURED, actor=lead, vendor=vendor)
    follow_up = _follow_up(parent, lead, exposure_evidence=[capture()])
    assert EvidenceFile.objects.get(case=follow_up).sha256 == (
        EvidenceFile.objects.get(case=parent, kind=EvidenceKind.EXPOSURE_CAPTURE).sha256
    )


# --- what vendors may read of the ledger -------------------------------------


def test_holds_overrides_and_edits_are_internal_events(lead, analyst, vendor, vendor_contact):
    from disclosure.cases.selectors import events_for

    case = make_case(S.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation expected")
    services.update_details(actor=analyst, case=case, changes={"severity": "critical"})
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=now(),
        url="https://firm.example/a",
        title="Advisory",
        override_justification="The vendor stopped answering and users must act now.",
    )
    internal_kinds = {
        EventKind.LEGAL_HOLD_CHANGED,
        EventKind.DETAILS_UPDATED,
        EventKind.OVERRIDE_GRANTED,
    }
    events = CaseEvent.objects.filter(case=case)
    assert all(e.internal for e in events if e.kind in internal_kinds)
    seen_by_vendor = {e.kind for e in events_for(vendor_contact, case)}
    assert not seen_by_vendor & internal_kinds
    assert EventKind.STAGE_CHANGED in seen_by_vendor
    assert {e.kind for e in events_for(lead, case)} >= internal_kinds


def test_a_correction_is_as_internal_as_the_event_it_corrects(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation expected")
    hold = CaseEvent.objects.get(case=case, kind=EventKind.LEGAL_HOLD_CHANGED)
    notified = CaseEvent.objects.filter(case=case, kind=EventKind.STAGE_CHANGED).last()
    internal = services.correct_event(
        actor=analyst, case=case, seq=hold.seq, reason="Wrong matter", statement="Matter 12, not 21"
    )
    public = services.correct_event(
        actor=analyst,
        case=case,
        seq=notified.seq,
        reason="Typo",
        statement="The notice went to PSIRT",
    )
    assert internal.internal and not public.internal


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


def test_legal_hold_checks_permission_before_input(analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    with pytest.raises(NotPermitted):
        services.set_legal_hold(actor=analyst, case=case, on=True, reason="")
