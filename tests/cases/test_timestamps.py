"""When things happened: every stage time is aware, not in the future and not
before the previous stage; corrections keep that order and never touch the
event they correct."""

from datetime import timedelta, timezone

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.stages import STAGE_ORDER, STAGE_TIME_FIELD, CloseReason, Stage
from disclosure.core.errors import (
    InvalidTimestamp,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import state
from tests.factories import advance, capture, deletion_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage
MAIN_PATH = [S.VENDOR_NOTIFIED, S.SECURED, S.DATA_DELETED, S.PUBLISHED, S.CLOSED]


def previous(stage: Stage) -> Stage:
    return STAGE_ORDER[STAGE_ORDER.index(stage) - 1]


@pytest.fixture
def at_stage(lead, analyst, vendor):
    """Build a case just before ``stage`` and return (case, previous stage time)."""

    def build(stage):
        case = make_case(previous(stage), actor=lead, vendor=vendor, verifier=analyst)
        return case, getattr(case, STAGE_TIME_FIELD[previous(stage)])

    return build


def _refused(stage, at, at_stage, lead, analyst, match):
    case, _ = at_stage(stage)
    before = state(case)
    with pytest.raises(InvalidTimestamp, match=match) as exc:
        advance(case, stage, actor=lead, verifier=analyst, at=at(case))
    assert exc.value.field == "occurred_at"
    assert state(case) == before


@pytest.mark.parametrize("stage", MAIN_PATH)
def test_stage_time_in_the_future_is_refused(stage, at_stage, lead, analyst):
    _refused(
        stage, lambda c: now() + timedelta(minutes=5), at_stage, lead, analyst, "in the future"
    )


@pytest.mark.parametrize("stage", MAIN_PATH)
def test_stage_time_before_the_previous_stage_is_refused(stage, at_stage, lead, analyst):
    prev_field = STAGE_TIME_FIELD[previous(stage)]
    _refused(
        stage,
        lambda c: getattr(c, prev_field) - timedelta(microseconds=1),
        at_stage,
        lead,
        analyst,
        "cannot be before",
    )


@pytest.mark.parametrize("stage", MAIN_PATH)
def test_naive_stage_time_is_refused(stage, at_stage, lead, analyst):
    _refused(
        stage,
        lambda c: (now() - timedelta(hours=1)).replace(tzinfo=None),
        at_stage,
        lead,
        analyst,
        "time zone",
    )


@pytest.mark.parametrize("stage", [s for s in MAIN_PATH if s != S.CLOSED])
def test_missing_stage_time_is_refused(stage, at_stage, lead, analyst):
    _refused(stage, lambda c: None, at_stage, lead, analyst, "Say when")


@pytest.mark.parametrize("stage", MAIN_PATH)
def test_stage_time_equal_to_the_previous_stage_is_allowed(stage, at_stage, lead, analyst):
    case, prev_time = at_stage(stage)
    case = advance(case, stage, actor=lead, verifier=analyst, at=prev_time)
    case.refresh_from_db()
    assert case.stage == stage
    assert getattr(case, STAGE_TIME_FIELD[stage]) == prev_time


@pytest.mark.parametrize("stage", MAIN_PATH)
def test_stage_time_in_another_zone_is_stored_as_the_same_instant(stage, at_stage, lead, analyst):
    case, prev_time = at_stage(stage)
    at = (prev_time + timedelta(minutes=1)).astimezone(timezone(timedelta(hours=-7)))
    case = advance(case, stage, actor=lead, verifier=analyst, at=at)
    case.refresh_from_db()
    assert getattr(case, STAGE_TIME_FIELD[stage]) == at
    event = CaseEvent.objects.filter(case=case, kind=EventKind.STAGE_CHANGED).last()
    assert event.occurred_at == at
    assert event.recorded_at >= at


def test_closing_without_a_time_closes_now(lead, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    before = now()
    case = services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    assert before <= case.closed_at <= now()


@pytest.mark.parametrize(
    ("found_at", "match"),
    [
        (lambda: now() + timedelta(minutes=1), "in the future"),
        (lambda: now().replace(tzinfo=None), "time zone"),
        (lambda: None, "Say when"),
    ],
    ids=["future", "naive", "missing"],
)
def test_found_time_rules(found_at, match, lead, vendor):
    with pytest.raises(InvalidTimestamp, match=match):
        make_case(S.FOUND, actor=lead, vendor=vendor, found_at=found_at())
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()


def test_found_time_may_be_back_dated_years(lead, vendor):
    found = now().replace(year=2022)
    case = make_case(S.FOUND, actor=lead, vendor=vendor, found_at=found)
    assert case.found_at == found
    assert CaseEvent.objects.get(case=case, seq=1).occurred_at == found


def test_acknowledgement_before_notification_is_refused(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(InvalidTimestamp, match="cannot be before"):
        services.acknowledge(
            actor=lead, case=case, occurred_at=case.vendor_notified_at - timedelta(seconds=1)
        )
    with pytest.raises(InvalidTimestamp, match="in the future"):
        services.acknowledge(actor=lead, case=case, occurred_at=now() + timedelta(hours=1))
    assert state(case) == before
    case = services.acknowledge(actor=lead, case=case, occurred_at=case.vendor_notified_at)
    assert case.vendor_acknowledged_at == case.vendor_notified_at


def test_deletion_before_secured_is_refused(lead, analyst, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(InvalidTimestamp, match="The deletion cannot be before"):
        services.record_deletion(
            actor=lead,
            case=case,
            **deletion_kwargs(lead, analyst, case.secured_at - timedelta(minutes=1)),
        )
    assert state(case) == before


def test_follow_up_found_before_the_parent_was_secured_is_refused(lead, vendor):
    parent = make_case(S.SECURED, actor=lead, vendor=vendor)
    with pytest.raises(InvalidTimestamp, match="cannot be before"):
        services.open_follow_up(
            actor=lead,
            case=parent,
            found_at=parent.secured_at - timedelta(seconds=1),
            how_found="Scanner",
            exposure_evidence=[capture(b"new listing")],
        )
    assert Case.objects.count() == 1


# --- corrections ------------------------------------------------------------


def stage_event(case: Case, stage: Stage) -> CaseEvent:
    for event in CaseEvent.objects.filter(case=case).order_by("seq"):
        if stage == S.FOUND and event.kind == EventKind.CASE_OPENED:
            return event
        if event.kind == EventKind.STAGE_CHANGED and event.payload["to"] == stage:
            return event
    raise AssertionError(f"no event for {stage}")


def frozen(event: CaseEvent) -> tuple:
    event.refresh_from_db()
    return (event.kind, event.payload, event.occurred_at, event.recorded_at, event.hash)


@pytest.mark.parametrize("stage", [S.FOUND, S.VENDOR_NOTIFIED, S.SECURED, S.DATA_DELETED])
def test_correcting_a_stage_time_updates_the_case_and_appends_a_correction(stage, lead, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    field = STAGE_TIME_FIELD[stage]
    original = stage_event(case, stage)
    original_state = frozen(original)
    old = getattr(case, field)
    new = old + timedelta(minutes=30)  # stages are an hour apart
    correction = services.correct_event(
        actor=lead,
        case=case,
        seq=original.seq,
        reason="Clock of the scanner was off",
        occurred_at=new,
    )
    case.refresh_from_db()
    assert getattr(case, field) == new
    assert frozen(original) == original_state
    assert correction.kind == EventKind.CORRECTION
    assert correction.seq == CaseEvent.objects.filter(case=case).count()
    assert correction.payload["corrects_seq"] == original.seq
    assert correction.payload["corrects_hash"] == original.hash
    assert correction.payload["reason"] == "Clock of the scanner was off"
    assert set(correction.payload["occurred_at"]) == {"field", "from", "to"}
    assert correction.payload["occurred_at"]["field"] == field
    assert correction.payload["occurred_at"]["from"] != correction.payload["occurred_at"]["to"]
    assert verify_case(case).ok


@pytest.mark.parametrize("stage", [S.VENDOR_NOTIFIED, S.SECURED, S.DATA_DELETED, S.PUBLISHED])
def test_corrected_stage_time_may_not_precede_the_previous_stage(stage, lead, vendor):
    case = make_case(S.CLOSED, actor=lead, vendor=vendor)
    event = stage_event(case, stage)
    lower = getattr(case, STAGE_TIME_FIELD[previous(stage)])
    before = state(case)
    with pytest.raises(InvalidTimestamp, match="cannot be before"):
        services.correct_event(
            actor=lead,
            case=case,
            seq=event.seq,
            reason="wrong",
            occurred_at=lower - timedelta(seconds=1),
        )
    assert state(case) == before
    services.correct_event(actor=lead, case=case, seq=event.seq, reason="wrong", occurred_at=lower)
    case.refresh_from_db()
    assert getattr(case, STAGE_TIME_FIELD[stage]) == lower


@pytest.mark.parametrize("stage", [S.FOUND, S.VENDOR_NOTIFIED, S.SECURED, S.DATA_DELETED])
def test_corrected_stage_time_may_not_pass_the_next_stage(stage, lead, vendor):
    case = make_case(S.PUBLISHED, actor=lead, vendor=vendor)
    event = stage_event(case, stage)
    nxt = STAGE_ORDER[STAGE_ORDER.index(stage) + 1]
    upper = getattr(case, STAGE_TIME_FIELD[nxt])
    before = state(case)
    with pytest.raises(InvalidTimestamp, match="cannot be after") as exc:
        services.correct_event(
            actor=lead,
            case=case,
            seq=event.seq,
            reason="wrong",
            occurred_at=upper + timedelta(seconds=1),
        )
    assert exc.value.field == "occurred_at"
    assert state(case) == before
    services.correct_event(actor=lead, case=case, seq=event.seq, reason="wrong", occurred_at=upper)
    case.refresh_from_db()
    assert getattr(case, STAGE_TIME_FIELD[stage]) == upper


def test_corrected_time_of_the_latest_stage_may_not_be_in_the_future(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    event = stage_event(case, S.SECURED)
    before = state(case)
    with pytest.raises(InvalidTimestamp, match="in the future"):
        services.correct_event(
            actor=lead,
            case=case,
            seq=event.seq,
            reason="wrong",
            occurred_at=now() + timedelta(hours=1),
        )
    with pytest.raises(InvalidTimestamp, match="time zone"):
        services.correct_event(
            actor=lead,
            case=case,
            seq=event.seq,
            reason="wrong",
            occurred_at=case.secured_at.replace(tzinfo=None),
        )
    assert state(case) == before


def test_acknowledgement_corrections_keep_it_after_the_notification(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    ack_at = case.vendor_notified_at + timedelta(minutes=10)
    case = services.acknowledge(actor=lead, case=case, occurred_at=ack_at)
    ack = CaseEvent.objects.get(case=case, kind=EventKind.VENDOR_ACKNOWLEDGED)
    notified = stage_event(case, S.VENDOR_NOTIFIED)
    before = state(case)
    with pytest.raises(InvalidTimestamp, match="cannot be before"):
        services.correct_event(
            actor=lead,
            case=case,
            seq=ack.seq,
            reason="wrong",
            occurred_at=case.vendor_notified_at - timedelta(seconds=1),
        )
    # Nor may the notification move past the acknowledgement.
    with pytest.raises(InvalidTimestamp, match="the vendor acknowledged"):
        services.correct_event(
            actor=lead,
            case=case,
            seq=notified.seq,
            reason="wrong",
            occurred_at=ack_at + timedelta(seconds=1),
        )
    assert state(case) == before
    new_ack = case.secured_at + timedelta(minutes=5)  # the acknowledgement may follow securing
    services.correct_event(actor=lead, case=case, seq=ack.seq, reason="late", occurred_at=new_ack)
    case.refresh_from_db()
    assert case.vendor_acknowledged_at == new_ack


def test_correcting_a_non_time_event_takes_a_statement_only(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    comm_event = CaseEvent.objects.get(case=case, kind=EventKind.COMMUNICATION_LOGGED)
    state_before = state(case)
    original_state = frozen(comm_event)
    with pytest.raises(ValidationFailed, match="with a statement") as exc:
        services.correct_event(
            actor=lead,
            case=case,
            seq=comm_event.seq,
            reason="wrong",
            occurred_at=now() - timedelta(days=1),
        )
    assert exc.value.field == "occurred_at"
    assert state(case) == state_before
    correction = services.correct_event(
        actor=lead,
        case=case,
        seq=comm_event.seq,
        reason="Wrong recipient noted",
        statement="The notice went to privacy@, not security@.",
    )
    after = state(case)
    assert {k: v for k, v in after.items() if k != "events"} == {
        k: v for k, v in state_before.items() if k != "events"
    }
    assert after["events"] == [*state_before["events"], correction.hash]
    assert correction.payload == {
        "corrects_seq": comm_event.seq,
        "corrects_hash": comm_event.hash,
        "reason": "Wrong recipient noted",
        "statement": "The notice went to privacy@, not security@.",
    }
    assert frozen(comm_event) == original_state


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_correction_without_a_reason_is_refused(reason, lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="needs a reason") as exc:
        services.correct_event(actor=lead, case=case, seq=1, reason=reason, statement="x")
    assert exc.value.field == "reason"
    assert state(case) == before


def test_correction_without_time_or_statement_is_refused(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="corrected time or a statement"):
        services.correct_event(actor=lead, case=case, seq=1, reason="wrong", statement="  ")
    assert state(case) == before


def test_correction_of_an_unknown_event_is_refused(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(ValidationFailed, match="no event #99"):
        services.correct_event(actor=lead, case=case, seq=99, reason="wrong", statement="x")
    assert state(case) == before


def test_correction_of_another_cases_event_is_refused(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    other = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    last_seq = CaseEvent.objects.filter(case=other).count()
    assert last_seq > CaseEvent.objects.filter(case=case).count()
    with pytest.raises(ValidationFailed, match=f"no event #{last_seq}"):
        services.correct_event(actor=lead, case=case, seq=last_seq, reason="x", statement="x")


@pytest.mark.parametrize("fixture", ["legal", "vendor_contact", "outsider"])
def test_corrections_are_for_analysts_leads_and_admins(fixture, request, lead, vendor):
    actor = request.getfixturevalue(fixture)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    # The outsider may not even know the case exists (404).
    with pytest.raises(NotFound if fixture == "outsider" else NotPermitted):
        services.correct_event(actor=actor, case=case, seq=1, reason="x", statement="x")
    assert state(case) == before


def test_corrections_are_allowed_on_a_closed_case(lead, vendor):
    case = make_case(S.CLOSED, actor=lead, vendor=vendor)
    closed = stage_event(case, S.CLOSED)
    new = case.closed_at + timedelta(minutes=1)
    services.correct_event(actor=lead, case=case, seq=closed.seq, reason="x", occurred_at=new)
    case.refresh_from_db()
    assert (case.stage, case.closed_at) == (S.CLOSED, new)


def test_a_stage_cannot_be_entered_twice(lead, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    with pytest.raises(TransitionNotAllowed):
        advance(case, S.VENDOR_NOTIFIED, actor=lead, verifier=None, at=now())
    assert CaseEvent.objects.filter(case=case, kind=EventKind.STAGE_CHANGED).count() == 1


def test_times_are_stored_in_utc(lead, vendor):
    found = now().astimezone(timezone(timedelta(hours=9))) - timedelta(days=1)
    case = make_case(S.FOUND, actor=lead, vendor=vendor, found_at=found)
    case.refresh_from_db()
    assert case.found_at == found
    assert case.found_at.utcoffset() == timedelta(0)
