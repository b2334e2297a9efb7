"""The transitions table, through the services: every (source, target) pair of
stages.

The expected answer for each pair is written out by hand in ``DESIGN_MATRIX``
(never read back from ``transitions``): ``test_table_matches_the_design`` pins
the table to it, and the behaviour test runs every pair through the services
against it, so a wrong table or a wrong service fails.
"""

import io
from datetime import timedelta

import pytest

from disclosure.accounts.models import Role
from disclosure.cases import services, transitions
from disclosure.cases.stages import STAGE_ORDER, STAGE_TIME_FIELD, CloseReason, Stage, stage_index
from disclosure.core.errors import NotPermitted, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import advance, make_case, notify_kwargs, publish_kwargs

pytestmark = pytest.mark.django_db

S = Stage


# The service that moves a case into each stage (found has none: cases are opened).
SERVICE_FOR_TARGET = {
    S.VENDOR_NOTIFIED: "notify_vendor",
    S.SECURED: "secure",
    S.DATA_DELETED: "record_deletion",
    S.PUBLISHED: "publish",
    S.CLOSED: "close",
}


def _pair_id(pair):
    return f"{pair[0]}->{pair[1]}"


PAIRS = [(s, t) for s in STAGE_ORDER for t in STAGE_ORDER]


# --- the table itself ------------------------------------------------------

# Rows: source; columns: target, both in stage order. Y allowed, O only with an
# override, L late (a milestone an early publication skipped, recorded once
# without moving the case back), . refused.
DESIGN_MATRIX = """
found            . Y . . . Y
vendor_notified  . . Y . O Y
secured          . . . Y Y Y
data_deleted     . . . . Y Y
published        . . L L . Y
closed           . . L L . .
"""


def _design_expectations() -> dict[tuple[Stage, Stage], str]:
    out = {}
    for line in DESIGN_MATRIX.strip().splitlines():
        source, *cells = line.split()
        for target, cell in zip(STAGE_ORDER, cells, strict=True):
            out[(Stage(source), target)] = cell
    return out


def _table_says(source: Stage, target: Stage) -> str:
    t = transitions.stage_action_between(source, target)
    if t is None:
        return "."
    if transitions.allowed_from(t.action, source):
        return "Y"
    if transitions.allowed_from(t.action, source, late=True):
        return "L"
    assert transitions.allowed_from(t.action, source, with_override=True)
    return "O"


def test_table_matches_the_design():
    expected = _design_expectations()
    actual = {pair: _table_says(*pair) for pair in PAIRS}
    assert actual == expected


def test_each_stage_but_found_has_exactly_one_stage_action():
    targets = {t.target: a for a, t in transitions.STAGE_TRANSITIONS.items()}
    assert targets == SERVICE_FOR_TARGET
    assert transitions.TRANSITIONS["publish"].override_roles == {Role.LEAD}


def test_unknown_action_is_an_error():
    with pytest.raises(ValueError, match="unknown action"):
        transitions.get("teleport")


# --- every pair, through the services --------------------------------------


@pytest.mark.parametrize(("source", "target"), PAIRS, ids=[_pair_id(p) for p in PAIRS])
def test_stage_move_is_allowed_iff_the_table_allows_it(source, target, lead, analyst, vendor):
    cell = _design_expectations()[(source, target)]
    if target == S.FOUND:
        # Nothing leads back to found: no service can even be attempted.
        assert cell == "."
        assert all(tr.target != S.FOUND for tr in transitions.TRANSITIONS.values())
        return
    allowed = cell == "Y"
    override_only = cell == "O"
    # A late milestone is refused here because make_case recorded it on the way.
    late_but_recorded = cell == "L"
    case = make_case(source, actor=lead, vendor=vendor, verifier=analyst)
    before = state(case)
    at = now() - timedelta(hours=1)
    run = lambda: advance(case, target, actor=lead, at=at, verifier=analyst)  # noqa: E731

    if allowed:
        moved = run()
        after = state(moved)
        assert after["stage"] == target
        assert after[STAGE_TIME_FIELD[target]] == at
        # The earlier stage times are untouched.
        for s in STAGE_ORDER[: stage_index(source) + 1]:
            assert after[STAGE_TIME_FIELD[s]] == before[STAGE_TIME_FIELD[s]]
        last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert last.kind == EventKind.STAGE_CHANGED
        assert (last.payload["from"], last.payload["to"]) == (source, target)
        assert last.occurred_at == at
        assert len(after["events"]) > len(before["events"])
        assert verify_case(case).ok
        return

    expected_error = ValidationFailed if override_only else TransitionNotAllowed
    with pytest.raises(expected_error) as exc:
        run()
    assert state(case) == before
    if override_only:
        assert "justification" in exc.value.message
    elif late_but_recorded:
        assert "was recorded already" in exc.value.message
    else:
        assert case.reference in exc.value.message
        assert f"is {S(source).label.lower()}:" in exc.value.message
        assert "allowed only when" in exc.value.message


def test_found_to_secured_is_refused(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    with pytest.raises(TransitionNotAllowed, match="found"):
        services.secure(actor=lead, case=case, occurred_at=now(), retest_result="403")
    case.refresh_from_db()
    assert case.stage == S.FOUND
    assert case.secured_at is None


def test_data_deleted_to_published_is_allowed(lead, vendor):
    case = make_case(S.DATA_DELETED, actor=lead, vendor=vendor)
    case = services.publish(actor=lead, case=case, **publish_kwargs(now()))
    assert case.stage == S.PUBLISHED
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.OVERRIDE_GRANTED).exists()


def test_vendor_notified_to_published_needs_a_leads_override(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    kwargs = publish_kwargs(now())
    with pytest.raises(ValidationFailed, match="justification"):
        services.publish(actor=lead, case=case, **kwargs)
    with pytest.raises(NotPermitted, match="lead's override"):
        services.publish(actor=analyst, case=case, override_justification=JUSTIFICATION, **kwargs)
    case.refresh_from_db()
    assert case.stage == S.VENDOR_NOTIFIED
    case = services.publish(actor=lead, case=case, override_justification=JUSTIFICATION, **kwargs)
    assert case.stage == S.PUBLISHED


def test_closed_case_cannot_be_reopened_or_closed_again(lead, vendor):
    case = make_case(S.CLOSED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        services.close_case(actor=lead, case=case, reason=CloseReason.PUBLISHED)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        services.notify_vendor(actor=lead, case=case, **notify_kwargs(now()))
    assert state(case) == before


def test_refused_move_leaves_no_stored_evidence_row(lead, vendor):
    """Files handed to a refused move do not become evidence of the case."""
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(TransitionNotAllowed):
        services.secure(
            actor=lead,
            case=case,
            occurred_at=now(),
            retest_result="403",
            evidence=[IncomingFile("retest.txt", io.BytesIO(b"HTTP 403"))],
        )
    assert state(case) == before
