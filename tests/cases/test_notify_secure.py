"""Notifying the vendor and securing the asset: what each stage must carry.
Every refusal leaves the case, its records and its ledger exactly as they were."""

import io
from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.core.errors import EvidenceRequired, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from tests.cases.helpers import kinds, state
from tests.factories import inbound_kwargs, make_case, notify_kwargs

pytestmark = pytest.mark.django_db

S = Stage


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
    with pytest.raises(error, match=match):
        services.notify_vendor(
            actor=lead, case=case, **notify_kwargs(now() - timedelta(hours=1), **changes)
        )
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
    stage = CaseEvent.objects.get(case=case, kind=EventKind.STAGE_CHANGED)
    assert stage.payload["notice_communication_id"] == notice.pk
    # A stage note is internal unless shared: its own internal event.
    assert "note" not in stage.payload
    note = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert (note.kind, note.internal) == (EventKind.NOTE_ADDED, True)
    assert note.payload == {"about_seq": stage.seq, "note": "first contact"}
    assert kinds(case)[-4:] == [
        EventKind.EVIDENCE_ATTACHED,
        EventKind.COMMUNICATION_LOGGED,
        EventKind.STAGE_CHANGED,
        EventKind.NOTE_ADDED,
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


def _inbound(case, actor):
    at = now() - timedelta(minutes=30)
    return services.log_communication(actor=actor, case=case, **inbound_kwargs(at))


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
