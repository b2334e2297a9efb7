"""The transitions table, through the services: every (source, target) pair of
stages, who may take each stage action, and the stage rules of the actions
that do not change the stage.

The behaviour tests derive their expectations from ``transitions`` itself, so
they follow the table; ``test_table_matches_the_design`` pins the table to the
design literally, so a wrong table fails too.
"""

import io
from datetime import timedelta

import pytest

from disclosure.accounts.models import Role
from disclosure.cases import services, transitions
from disclosure.cases.models import Case
from disclosure.cases.stages import STAGE_ORDER, STAGE_TIME_FIELD, CloseReason, Stage, stage_index
from disclosure.comms.models import Communication
from disclosure.core.errors import NotPermitted, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import capture, deletion_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage
JUSTIFICATION = "The vendor has not answered for 120 days; users must protect themselves."

# The fixture that plays each role, and the role the table knows it by
# (None: no role on the case at all).
ROLE_FIXTURES = {
    "analyst": Role.ANALYST,
    "lead": Role.LEAD,
    "legal": Role.LEGAL,
    "admin_user": Role.ADMIN,
    "vendor_contact": Role.VENDOR_CONTACT,
    "other_vendor_contact": None,
    "outsider": None,
}

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


def state(case: Case) -> dict:
    """Everything a refused move must leave as it was."""
    case.refresh_from_db()
    events = CaseEvent.objects.filter(case=case)
    return {
        "stage": case.stage,
        **{f: getattr(case, f) for f in STAGE_TIME_FIELD.values()},
        "vendor_acknowledged_at": case.vendor_acknowledged_at,
        "close_reason": case.close_reason,
        "publication_url": case.publication_url,
        "legal_hold": case.legal_hold,
        "events": events.count(),
        "head": events.order_by("-seq").values_list("hash", flat=True).first(),
        "communications": Communication.objects.filter(case=case).count(),
        "evidence": EvidenceFile.objects.filter(case=case).count(),
        "attestations": DeletionAttestation.objects.filter(case=case).count(),
        "follow_ups": Case.objects.filter(follows_up=case).count(),
    }


def attempt_stage_action(action, *, case, actor, at, performer, verifier, justification=""):
    """Run the stage action ``action`` with minimal valid input."""
    if action == "notify_vendor":
        return services.notify_vendor(
            actor=actor,
            case=case,
            occurred_at=at,
            channel="email",
            sender="research@firm.example",
            recipients=["security@contoso.example"],
            subject="Exposed data",
            body="Your container is public.",
        )
    if action == "secure":
        return services.secure(
            actor=actor, case=case, occurred_at=at, retest_result="403 on anonymous listing"
        )
    if action == "record_deletion":
        return services.record_deletion(
            actor=actor, case=case, **deletion_kwargs(performer, verifier, at)
        )
    if action == "publish":
        return services.publish(
            actor=actor,
            case=case,
            occurred_at=at,
            url="https://firm.example/advisories/1",
            title="Advisory",
            override_justification=justification,
        )
    if action == "close":
        case.refresh_from_db()
        reason = CloseReason.PUBLISHED if case.stage == S.PUBLISHED else CloseReason.INVALID
        return services.close_case(actor=actor, case=case, reason=reason, occurred_at=at)
    raise AssertionError(f"not a stage action: {action}")


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
closed           . . . . . .
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
    t = transitions.stage_action_between(source, target)
    if target == S.FOUND:
        # Nothing leads back to found: no service can even be attempted.
        assert t is None
        assert all(tr.target != S.FOUND for tr in transitions.TRANSITIONS.values())
        return
    action = SERVICE_FOR_TARGET[target]
    allowed = t is not None and transitions.allowed_from(action, source)
    override_only = (
        t is not None
        and not allowed
        and transitions.allowed_from(action, source, with_override=True)
    )
    # A late milestone is refused here because make_case recorded it on the way.
    late_but_recorded = (
        t is not None and not allowed and transitions.allowed_from(action, source, late=True)
    )
    case = make_case(source, actor=lead, vendor=vendor, verifier=analyst)
    before = state(case)
    at = now() - timedelta(hours=1)
    run = lambda: attempt_stage_action(  # noqa: E731
        action, case=case, actor=lead, at=at, performer=lead, verifier=analyst
    )

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
        assert after["events"] > before["events"]
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
    case = services.publish(
        actor=lead, case=case, occurred_at=now(), url="https://firm.example/a", title="Advisory"
    )
    assert case.stage == S.PUBLISHED
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.OVERRIDE_GRANTED).exists()


def test_vendor_notified_to_published_needs_a_leads_override(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    kwargs = {"occurred_at": now(), "url": "https://firm.example/a", "title": "Advisory"}
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
        services.notify_vendor(
            actor=lead,
            case=case,
            occurred_at=now(),
            channel="email",
            sender="a@firm.example",
            recipients=["b@contoso.example"],
            subject="Again",
            body="again",
        )
    assert state(case) == before


# --- who may take each stage action -----------------------------------------


def _first_source_visible_to_vendor(t: transitions.Transition) -> Stage:
    """The earliest stage the action runs from, preferring one where the
    vendor already sees the case (so vendor contacts are refused for their
    role, not merely because the case is hidden)."""
    sources = sorted(t.source, key=stage_index)
    visible = [s for s in sources if s != S.FOUND]
    return (visible or sources)[0]


ROLE_CASES = [
    (action, fixture) for action in transitions.STAGE_TRANSITIONS for fixture in ROLE_FIXTURES
]


@pytest.mark.parametrize(("action", "fixture"), ROLE_CASES, ids=[f"{a}-{f}" for a, f in ROLE_CASES])
def test_stage_action_roles(action, fixture, request, lead, analyst, vendor):
    t = transitions.get(action)
    role = ROLE_FIXTURES[fixture]
    actor = request.getfixturevalue(fixture)
    source = _first_source_visible_to_vendor(t)
    case = make_case(source, actor=lead, vendor=vendor, verifier=analyst)
    before = state(case)
    run = lambda: attempt_stage_action(  # noqa: E731
        action,
        case=case,
        actor=actor,
        at=now() - timedelta(hours=1),
        performer=analyst,
        verifier=lead,
    )
    if role is not None and role in t.roles:
        moved = run()
        assert moved.stage == t.target
        last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert last.actor_id == actor.pk
        assert last.actor_snapshot["role"] == role
    else:
        with pytest.raises(NotPermitted) as exc:
            run()
        assert t.label.lower() in exc.value.message
        assert state(case) == before


OVERRIDE_CASES = list(ROLE_FIXTURES)


@pytest.mark.parametrize("fixture", OVERRIDE_CASES)
def test_publish_override_roles(fixture, request, lead, vendor):
    t = transitions.get("publish")
    role = ROLE_FIXTURES[fixture]
    actor = request.getfixturevalue(fixture)
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    before = state(case)
    run = lambda: services.publish(  # noqa: E731
        actor=actor,
        case=case,
        occurred_at=now(),
        url="https://firm.example/a",
        title="Advisory",
        override_justification=JUSTIFICATION,
    )
    if role in t.roles and role in t.override_roles:
        assert run().stage == S.PUBLISHED
    else:
        with pytest.raises(NotPermitted):
            run()
        assert state(case) == before


# --- actions that do not change the stage -----------------------------------


def _non_stage_call(action, case, actor):
    at = now() - timedelta(minutes=5)
    calls = {
        "acknowledge": lambda: services.acknowledge(actor=actor, case=case, occurred_at=at),
        "attach_evidence": lambda: services.attach_evidence(
            actor=actor, case=case, file=capture(b"another file\n", kind="other")
        ),
        "log_communication": lambda: services.log_communication(
            actor=actor,
            case=case,
            direction="inbound",
            channel="email",
            sender="security@contoso.example",
            recipients=["research@firm.example"],
            body="Thanks, looking into it.",
            occurred_at=at,
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
    }
    return calls[action]()


EVENT_OF_ACTION = {
    "acknowledge": EventKind.VENDOR_ACKNOWLEDGED,
    "attach_evidence": EventKind.EVIDENCE_ATTACHED,
    "log_communication": EventKind.COMMUNICATION_LOGGED,
    "file_dispute": EventKind.DISPUTE_FILED,
    "correct_event": EventKind.CORRECTION,
    "set_legal_hold": EventKind.LEGAL_HOLD_CHANGED,
    "update_details": EventKind.DETAILS_UPDATED,
    "open_follow_up": EventKind.FOLLOW_UP_OPENED,
    "countersign_attestation": EventKind.ATTESTATION_COUNTERSIGNED,
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


def test_attach_evidence_is_refused_once_closed(lead, vendor):
    case = make_case(S.CLOSED, actor=lead, vendor=vendor)
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        services.attach_evidence(actor=lead, case=case, file=capture(b"late", kind="other"))
    assert state(case) == before


COUNTERSIGN_CASES = [(s, f) for s in STAGE_ORDER for f in ROLE_FIXTURES]


@pytest.mark.parametrize(
    ("stage", "fixture"), COUNTERSIGN_CASES, ids=[f"{s}-{f}" for s, f in COUNTERSIGN_CASES]
)
def test_countersign_only_by_the_vendor_contact_and_only_with_an_attestation(
    stage, fixture, request, lead, vendor
):
    actor = request.getfixturevalue(fixture)
    case = make_case(stage, actor=lead, vendor=vendor)
    before = state(case)
    visible = stage != S.FOUND
    if fixture == "vendor_contact" and visible:
        if transitions.allowed_from("countersign_attestation", stage):
            attestation = services.countersign_attestation(actor=actor, case=case)
            assert attestation.countersigned_by == actor
            assert attestation.countersigned_at is not None
            assert state(case)["events"] == before["events"] + 1
        else:
            assert not DeletionAttestation.objects.filter(case=case).exists()
            with pytest.raises(TransitionNotAllowed):
                services.countersign_attestation(actor=actor, case=case)
            assert state(case) == before
    else:
        with pytest.raises(NotPermitted):
            services.countersign_attestation(actor=actor, case=case)
        assert state(case) == before


def test_table_roles_and_available_actions_agree(lead, vendor_contact, vendor):
    """What the buttons show is what the services accept (for two users)."""
    from disclosure.cases import access

    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    for user in (lead, vendor_contact):
        shown = {t.action for t in access.available_actions(user, case)}
        expected = {
            a
            for a, t in transitions.TRANSITIONS.items()
            if access.can(user, a, case) and transitions.allowed_from(a, case.stage)
        }
        assert shown == expected
    assert "countersign_attestation" not in shown
    assert "secure" not in shown
    assert "record_deletion" not in {
        t.action for t in access.available_actions(vendor_contact, case)
    }


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


# --- milestones recorded late, after an early publication -------------------


def test_secured_and_deleted_can_follow_an_overridden_publication(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    published_at = now() - timedelta(hours=3)
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=published_at,
        url="https://firm.example/a",
        title="Advisory",
        override_justification=JUSTIFICATION,
    )
    secured_at = now() - timedelta(hours=2)
    case = services.secure(
        actor=analyst, case=case, occurred_at=secured_at, retest_result="403 on anonymous listing"
    )
    assert case.stage == S.PUBLISHED and case.secured_at == secured_at
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.payload["milestone"] == S.SECURED and event.payload["late"] is True
    assert (event.payload["from"], event.payload["to"]) == (S.PUBLISHED, S.PUBLISHED)

    deleted_at = now() - timedelta(hours=1)
    case = services.record_deletion(
        actor=analyst, case=case, **deletion_kwargs(analyst, lead, deleted_at)
    )
    assert case.stage == S.PUBLISHED and case.data_deleted_at == deleted_at
    with pytest.raises(TransitionNotAllowed, match="was recorded already"):
        services.secure(actor=analyst, case=case, occurred_at=now(), retest_result="again")
    assert verify_case(case).ok


def test_deletion_after_publication_needs_secured_first(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=now() - timedelta(hours=2),
        url="https://firm.example/a",
        title="Advisory",
        override_justification=JUSTIFICATION,
    )
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="secured before recording deletion"):
        services.record_deletion(
            actor=analyst, case=case, **deletion_kwargs(analyst, lead, now() - timedelta(hours=1))
        )
    assert state(case) == before


def test_deletion_can_follow_publication_that_skipped_it(lead, analyst, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=now() - timedelta(hours=2),
        url="https://firm.example/a",
        title="Advisory",
    )
    case = services.record_deletion(
        actor=analyst, case=case, **deletion_kwargs(analyst, lead, now() - timedelta(hours=1))
    )
    assert case.stage == S.PUBLISHED and case.data_deleted_at is not None


def test_late_milestone_is_not_dated_before_the_stage_it_follows(lead, analyst, vendor):
    from disclosure.core.errors import InvalidTimestamp

    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=now() - timedelta(minutes=5),
        url="https://firm.example/a",
        title="Advisory",
        override_justification=JUSTIFICATION,
    )
    with pytest.raises(InvalidTimestamp, match="before"):
        services.secure(
            actor=analyst,
            case=case,
            occurred_at=case.vendor_notified_at - timedelta(seconds=1),
            retest_result="403",
        )
