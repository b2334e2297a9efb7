"""The preconditions of the transitions table, one finding each: the service
refuses, the action is not offered, and nothing changes.

- acknowledge only while not yet acknowledged;
- countersign only an attestation that exists and is not countersigned;
- record deletion only once secured, without an attestation, and never
  under legal hold (deleting copies under a hold is spoliation);
- a deletion (and the securing it needs) may still be recorded late on a
  closed case whose milestone is missing, without moving the stage;
- close not under legal hold; open a follow-up only once secured.
"""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.access import available_actions
from disclosure.cases.stages import CloseReason, Stage
from disclosure.core.errors import LegalHoldActive, TransitionNotAllowed
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import advance, capture, deletion_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage


def offered(user, case) -> set[str]:
    case.refresh_from_db()
    return {t.action for t in available_actions(user, case)}


def days_ago(days: float):
    return now() - timedelta(days=days)


@pytest.fixture
def published_early(lead, vendor):
    """Published by a lead's override right after the notification."""
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    return advance(case, S.PUBLISHED, actor=lead, at=days_ago(9), justification=JUSTIFICATION)


@pytest.fixture
def published_before_deletion(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    return advance(case, S.PUBLISHED, actor=lead, at=days_ago(9))


# --- acknowledge -------------------------------------------------------------


def test_acknowledge_is_offered_once(vendor_contact, lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    assert "acknowledge" in offered(vendor_contact, case)
    services.acknowledge(actor=vendor_contact, case=case, occurred_at=days_ago(1))
    assert "acknowledge" not in offered(vendor_contact, case)
    assert "acknowledge" not in offered(lead, case)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match=r"acknowledged .* already"):
        services.acknowledge(actor=lead, case=case, occurred_at=days_ago(0.5))
    assert state(case) == before


# --- countersign -------------------------------------------------------------


def test_countersign_is_offered_once(vendor_contact, analyst, lead, vendor):
    case = make_case(S.DATA_DELETED, actor=lead, vendor=vendor, verifier=analyst)
    assert "countersign_attestation" in offered(vendor_contact, case)
    services.countersign_attestation(actor=vendor_contact, case=case)
    assert "countersign_attestation" not in offered(vendor_contact, case)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="countersigned already"):
        services.countersign_attestation(actor=vendor_contact, case=case)
    assert state(case) == before


def test_countersign_needs_an_attestation(vendor_contact, published_before_deletion):
    case = published_before_deletion
    assert "countersign_attestation" not in offered(vendor_contact, case)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="no deletion attestation"):
        services.countersign_attestation(actor=vendor_contact, case=case)
    assert state(case) == before


# --- record_deletion ---------------------------------------------------------


def test_late_deletion_without_secured_is_not_offered(analyst, lead, published_early):
    case = published_early
    assert case.secured_at is None
    assert "record_deletion" not in offered(analyst, case)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="secured before recording deletion"):
        services.record_deletion(
            actor=analyst, case=case, **deletion_kwargs(analyst, lead, days_ago(1))
        )
    assert state(case) == before


def test_deletion_under_legal_hold_is_refused(analyst, lead, legal, vendor):
    case = make_case(S.SECURED, actor=analyst, vendor=vendor)
    services.set_legal_hold(actor=legal, case=case, on=True, reason="Litigation pending.")
    assert "record_deletion" not in offered(analyst, case)
    before = state(case)
    with pytest.raises(LegalHoldActive, match="legal hold"):
        services.record_deletion(
            actor=analyst, case=case, **deletion_kwargs(analyst, lead, days_ago(1))
        )
    assert state(case) == before
    services.set_legal_hold(actor=legal, case=case, on=False, reason="Settled.")
    assert "record_deletion" in offered(analyst, case)
    case = services.record_deletion(
        actor=analyst, case=case, **deletion_kwargs(analyst, lead, days_ago(0.5))
    )
    assert case.stage == S.DATA_DELETED


def test_late_deletion_under_legal_hold_is_refused(analyst, lead, legal, published_before_deletion):
    case = published_before_deletion
    services.set_legal_hold(actor=legal, case=case, on=True, reason="Litigation pending.")
    before = state(case)
    with pytest.raises(LegalHoldActive):
        services.record_deletion(
            actor=analyst, case=case, **deletion_kwargs(analyst, lead, days_ago(1))
        )
    assert state(case) == before


def test_deletion_is_recorded_late_on_a_closed_case(analyst, lead, published_before_deletion):
    case = advance(published_before_deletion, S.CLOSED, actor=lead, at=days_ago(8))
    closed_at = case.closed_at
    assert "record_deletion" in offered(analyst, case)
    at = days_ago(1)
    case = services.record_deletion(actor=analyst, case=case, **deletion_kwargs(analyst, lead, at))
    case.refresh_from_db()
    assert case.stage == S.CLOSED
    assert case.closed_at == closed_at
    assert case.data_deleted_at == at
    assert DeletionAttestation.objects.filter(case=case).count() == 1
    last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert last.kind == EventKind.STAGE_CHANGED
    assert last.payload["from"] == "closed"
    assert last.payload["to"] == "closed"
    assert last.payload["milestone"] == "data_deleted"
    assert last.payload["late"] is True
    assert verify_case(case).ok
    # Once only.
    assert "record_deletion" not in offered(analyst, case)
    with pytest.raises(TransitionNotAllowed, match="recorded already"):
        services.record_deletion(
            actor=analyst, case=case, **deletion_kwargs(analyst, lead, days_ago(0.5))
        )


def test_closed_case_gets_secured_then_deletion_late(
    analyst, lead, vendor_contact, published_early
):
    """Published before securing, then closed: securing (by the vendor's
    confirmation, say) and then the deletion can still be recorded."""
    case = advance(published_early, S.CLOSED, actor=lead, at=days_ago(8))
    assert offered(analyst, case) >= {"secure"}
    assert "record_deletion" not in offered(analyst, case)
    case = services.secure(actor=vendor_contact, case=case, occurred_at=days_ago(2))
    assert case.stage == S.CLOSED
    assert "record_deletion" in offered(analyst, case)
    case = services.record_deletion(
        actor=analyst, case=case, **deletion_kwargs(analyst, lead, days_ago(1))
    )
    case.refresh_from_db()
    assert (case.stage, case.close_reason) == (S.CLOSED, CloseReason.PUBLISHED)
    assert case.secured_at is not None and case.data_deleted_at is not None
    assert verify_case(case).ok


def test_closed_case_never_notified_cannot_be_secured(analyst, lead, vendor):
    case = make_case(S.FOUND, actor=analyst, vendor=vendor)
    case = services.close_case(actor=lead, case=case, reason=CloseReason.INVALID)
    assert "secure" not in offered(analyst, case)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="never notified"):
        services.secure(actor=analyst, case=case, occurred_at=days_ago(0), retest_result="403")
    assert state(case) == before


# --- close and follow-up -----------------------------------------------------


def test_close_under_legal_hold_is_not_offered(lead, legal, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    services.set_legal_hold(actor=legal, case=case, on=True, reason="Litigation pending.")
    assert "close" not in offered(lead, case)
    before = state(case)
    with pytest.raises(LegalHoldActive, match="legal hold"):
        services.close_case(actor=lead, case=case, reason=CloseReason.INVALID)
    assert state(case) == before


def test_follow_up_needs_secured(analyst, published_early):
    case = published_early
    assert "open_follow_up" not in offered(analyst, case)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="secured"):
        services.open_follow_up(
            actor=analyst,
            case=case,
            found_at=days_ago(1),
            how_found="Re-scan",
            exposure_evidence=[capture(b"again\n")],
        )
    assert state(case) == before


# --- what a legal hold blocks, written out ------------------------------------

# Under a legal hold only closing and deleting are blocked. The actions offered
# (and accepted) at each stage, for a lead and for the case's vendor contact.
UNDER_HOLD = {
    S.FOUND: (
        {"notify_vendor", "log_communication", "send_mail", "attach_evidence", "file_dispute"}
        | {"correct_event", "set_legal_hold", "update_details"},
        set(),  # the vendor does not see the case yet
    ),
    S.VENDOR_NOTIFIED: (
        {"secure", "publish", "acknowledge", "log_communication", "send_mail", "attach_evidence"}
        | {"file_dispute", "correct_event", "set_legal_hold", "escalate", "update_details"},
        {"secure", "acknowledge", "log_communication", "attach_evidence", "file_dispute"},
    ),
    S.SECURED: (
        {"publish", "acknowledge", "log_communication", "send_mail", "attach_evidence"}
        | {"file_dispute", "correct_event", "set_legal_hold", "escalate", "update_details"}
        | {"open_follow_up"},
        {"acknowledge", "log_communication", "attach_evidence", "file_dispute"},
    ),
    S.DATA_DELETED: (
        {"publish", "acknowledge", "log_communication", "send_mail", "attach_evidence"}
        | {"file_dispute", "correct_event", "set_legal_hold", "escalate", "update_details"}
        | {"open_follow_up"},
        {"acknowledge", "log_communication", "attach_evidence", "file_dispute"}
        | {"countersign_attestation"},
    ),
}


@pytest.mark.parametrize("stage", list(UNDER_HOLD))
def test_a_legal_hold_blocks_only_closing_and_deleting(
    stage, analyst, lead, legal, vendor, vendor_contact
):
    case = make_case(stage, actor=analyst, vendor=vendor, verifier=lead)
    services.set_legal_hold(actor=legal, case=case, on=True, reason="Litigation pending.")
    for_lead, for_vendor = UNDER_HOLD[stage]
    assert offered(lead, case) == for_lead
    assert offered(vendor_contact, case) == for_vendor
