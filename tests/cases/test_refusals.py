"""The exact answers of ``transitions.refusal`` and ``access.require``: what a
user reads when an action is refused (written out here by hand; these tests
were added to kill surviving mutants of the mutation pass)."""

from datetime import timedelta

import pytest

from disclosure.cases import access, services, transitions
from disclosure.cases.stages import CloseReason, Stage
from disclosure.core.errors import LegalHoldActive, NotFound, NotPermitted, TransitionNotAllowed
from disclosure.core.timeutils import now
from tests.cases.helpers import JUSTIFICATION
from tests.factories import advance, make_case

pytestmark = pytest.mark.django_db

S = Stage


def test_stage_refusal_names_the_stage_and_the_allowed_ones(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    error = transitions.refusal("publish", case)
    assert isinstance(error, TransitionNotAllowed)
    assert error.message == (
        f"{case.reference} is found: 'Record publication' is allowed only when the case is "
        "secured, data deleted."
    )
    assert transitions.runs_now("publish", case) is False


def test_override_sources_count_only_when_asked(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    assert isinstance(transitions.refusal("publish", case), TransitionNotAllowed)
    assert transitions.runs_now("publish", case) is False
    assert transitions.refusal("publish", case, with_override=True) is None
    assert transitions.runs_now("publish", case, with_override=True) is True


def test_late_refusal_names_the_milestone_and_when_it_was_recorded(lead, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    error = transitions.refusal("secure", case)
    assert isinstance(error, TransitionNotAllowed)
    assert error.message == (
        f"{case.reference}: 'secured' was recorded already, at "
        f"{case.secured_at.isoformat()}; correct that event instead."
    )


def test_legal_hold_refusal(lead, legal, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    case = services.set_legal_hold(actor=legal, case=case, on=True, reason="Subpoena.")
    close, delete = transitions.refusal("close", case), transitions.refusal("record_deletion", case)
    assert isinstance(close, LegalHoldActive) and isinstance(delete, LegalHoldActive)
    assert close.message == f"{case.reference} is under legal hold: it cannot be closed."
    assert delete.message == (
        f"{case.reference} is under legal hold: its copies are evidence and may not be deleted."
    )
    assert transitions.refusal("publish", case) is None  # a hold does not block publishing


def test_precondition_messages(lead, analyst, vendor):
    closed = make_case(S.FOUND, actor=lead, vendor=vendor)
    closed = services.close_case(actor=lead, case=closed, reason=CloseReason.INVALID)
    assert transitions.refusal("secure", closed).message == (
        f"{closed.reference}'s vendor was never notified: there is no exposure "
        "of theirs to record as secured."
    )
    early = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    early = advance(
        early, S.PUBLISHED, actor=lead, at=now() - timedelta(days=1), justification=JUSTIFICATION
    )
    assert transitions.refusal("open_follow_up", early).message == (
        f"{early.reference}'s asset was never recorded as secured: a re-exposure "
        "follow-up needs a secured asset."
    )
    assert transitions.refusal("record_deletion", early).message == (
        f"Record that {early.reference}'s asset is secured before recording deletion."
    )


def test_require_messages(lead, analyst, legal, vendor_contact, other_vendor_contact, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    with pytest.raises(NotPermitted) as exc:
        access.require(analyst, "close", case)
    assert exc.value.message == f"You are not allowed to close case on {case.reference}."
    with pytest.raises(NotPermitted) as exc:
        access.require(vendor_contact, access.Action.EXPORT, case)
    assert exc.value.message == f"You are not allowed to export on {case.reference}."
    with pytest.raises(NotPermitted) as exc:
        access.require(legal, access.Action.OPEN_CASE)
    assert exc.value.message == "You are not allowed to open case."
    with pytest.raises(NotFound) as exc:
        access.require(other_vendor_contact, "close", case)
    assert exc.value.message == "No such case."


def test_role_on_without_a_case(vendor_contact, lead):
    assert access.role_on(vendor_contact, None) is None
    assert access.role_on(lead, None) == "lead"
