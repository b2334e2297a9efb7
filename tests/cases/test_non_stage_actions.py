"""The stage rules of the actions that do not change the stage: each runs
from the stages the transitions table allows and is refused, writing nothing,
from the others."""

from datetime import timedelta

import pytest

from disclosure.affected import services as affected_services
from disclosure.cases import services, transitions
from disclosure.cases.stages import STAGE_ORDER, Stage
from disclosure.comms.outbound import send_case_mail
from disclosure.core.errors import TransitionNotAllowed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import state
from tests.factories import capture, inbound_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage


# --- actions that do not change the stage -----------------------------------


def _dispute(case, actor):
    """An open dispute on the case, filed through the service (file_dispute
    runs from every stage), for the actions that answer or settle one."""
    return services.file_dispute(
        actor=actor,
        case=case,
        subject="Number of affected entities",
        firm_position="65,000",
        firm_provenance="Our count of distinct domains",
        vendor_position="Far fewer",
        vendor_provenance="Vendor statement",
    )


def _non_stage_call(action, case, actor):
    at = now() - timedelta(minutes=5)
    calls = {
        "answer_dispute": lambda: affected_services.answer_dispute(
            actor=actor, case=case, dispute=_dispute(case, actor), answer="We counted domains."
        ),
        "settle_dispute": lambda: affected_services.settle_dispute(
            actor=actor,
            case=case,
            dispute=_dispute(case, actor),
            outcome="rejected",
            reason="The vendor's own audit confirms the count.",
        ),
        "acknowledge": lambda: services.acknowledge(actor=actor, case=case, occurred_at=at),
        "attach_evidence": lambda: services.attach_evidence(
            actor=actor, case=case, file=capture(b"another file\n", kind="other")
        ),
        "log_communication": lambda: services.log_communication(
            actor=actor, case=case, **inbound_kwargs(at, body="Thanks, looking into it.")
        ),
        "send_mail": lambda: send_case_mail(
            actor=actor,
            case=case,
            to=["security@contoso.example"],
            subject="Status",
            body="Is the bucket closed?",
        ),
        "file_dispute": lambda: services.file_dispute(
            actor=actor,
            case=case,
            subject="Number of affected entities",
            firm_position="65,000",
            firm_provenance="Our count of distinct domains",
            vendor_position="Far fewer",
            vendor_provenance="Vendor statement",
        ),
        "correct_event": lambda: services.correct_event(
            actor=actor, case=case, seq=1, reason="Typo", statement="The title was misspelt."
        ),
        "set_legal_hold": lambda: services.set_legal_hold(
            actor=actor, case=case, on=True, reason="Litigation expected"
        ),
        "update_details": lambda: services.update_details(
            actor=actor, case=case, changes={"summary": "A changed summary"}
        ),
        "open_follow_up": lambda: services.open_follow_up(
            actor=actor,
            case=case,
            found_at=at,
            how_found="Scanner hit again",
            exposure_evidence=[capture(b"new listing\n")],
        ),
        "countersign_attestation": lambda: services.countersign_attestation(
            actor=actor, case=case, statement="We confirm."
        ),
        "escalate": lambda: services.escalate(
            actor=actor,
            case=case,
            target="cloud_provider",
            organization="Microsoft Security Response Center",
            reason="The vendor stopped answering.",
            escalated_at=at,
        ),
    }
    return calls[action]()


EVENT_OF_ACTION = {
    "acknowledge": EventKind.VENDOR_ACKNOWLEDGED,
    "attach_evidence": EventKind.EVIDENCE_ATTACHED,
    "log_communication": EventKind.COMMUNICATION_LOGGED,
    "send_mail": EventKind.COMMUNICATION_LOGGED,
    "file_dispute": EventKind.DISPUTE_FILED,
    "correct_event": EventKind.CORRECTION,
    "set_legal_hold": EventKind.LEGAL_HOLD_CHANGED,
    "update_details": EventKind.DETAILS_UPDATED,
    "open_follow_up": EventKind.FOLLOW_UP_OPENED,
    "countersign_attestation": EventKind.ATTESTATION_COUNTERSIGNED,
    "escalate": EventKind.ESCALATED,
    "answer_dispute": EventKind.DISPUTE_ANSWERED,
    "settle_dispute": EventKind.DISPUTE_SETTLED,
}

NON_STAGE = [a for a, t in transitions.TRANSITIONS.items() if not t.changes_stage]
NON_STAGE_BY_STAFF = [a for a in NON_STAGE if a != "countersign_attestation"]
NON_STAGE_CASES = [(a, s) for a in NON_STAGE_BY_STAFF for s in STAGE_ORDER]


def test_every_non_stage_action_is_covered():
    assert set(NON_STAGE) == set(EVENT_OF_ACTION)


@pytest.mark.parametrize(
    ("action", "stage"), NON_STAGE_CASES, ids=[f"{a}@{s}" for a, s in NON_STAGE_CASES]
)
def test_non_stage_action_stage_rules(action, stage, lead, vendor):
    case = make_case(stage, actor=lead, vendor=vendor)
    before = state(case)
    if transitions.allowed_from(action, stage):
        _non_stage_call(action, case, lead)
        after = state(case)
        assert after["stage"] == stage
        last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert last.kind == EVENT_OF_ACTION[action]
        assert verify_case(case).ok
    else:
        with pytest.raises(TransitionNotAllowed) as exc:
            _non_stage_call(action, case, lead)
        assert transitions.get(action).label in exc.value.message
        assert state(case) == before


def test_acknowledge_only_from_vendor_notified_on_and_once(lead, vendor_contact, vendor):
    assert not transitions.allowed_from("acknowledge", S.FOUND)
    assert transitions.allowed_from("acknowledge", S.VENDOR_NOTIFIED)
    assert not transitions.allowed_from("acknowledge", S.CLOSED)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    at = now() - timedelta(hours=2)
    case = services.acknowledge(actor=vendor_contact, case=case, occurred_at=at, note=" ok ")
    assert case.vendor_acknowledged_at == at
    assert case.stage == S.VENDOR_NOTIFIED
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert (event.kind, event.payload, event.occurred_at) == (
        EventKind.VENDOR_ACKNOWLEDGED,
        {"note": "ok"},
        at,
    )
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="already"):
        services.acknowledge(actor=lead, case=case, occurred_at=now())
    assert state(case) == before


def test_send_mail_runs_from_every_stage():
    assert all(transitions.allowed_from("send_mail", s) for s in STAGE_ORDER)


def test_attach_evidence_is_refused_once_closed(lead, vendor):
    case = make_case(S.CLOSED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        services.attach_evidence(actor=lead, case=case, file=capture(b"late", kind="other"))
    assert state(case) == before
