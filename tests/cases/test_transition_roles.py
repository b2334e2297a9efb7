"""Who may take each stage action, publish with an override, or countersign a
deletion attestation, as the transitions table says; and the actions offered
to a user are those the services accept."""

from datetime import timedelta

import pytest

from disclosure.accounts.models import Role
from disclosure.cases import services, transitions
from disclosure.cases.stages import STAGE_ORDER, Stage, stage_index
from disclosure.core.errors import NotPermitted, TransitionNotAllowed
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation
from disclosure.ledger.models import CaseEvent
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import advance, make_case, publish_kwargs

pytestmark = pytest.mark.django_db

S = Stage


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
    run = lambda: advance(  # noqa: E731
        case, t.target, actor=actor, at=now() - timedelta(hours=1), performer=analyst, verifier=lead
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
        actor=actor, case=case, **publish_kwargs(now(), override_justification=JUSTIFICATION)
    )
    if role in t.roles and role in t.override_roles:
        assert run().stage == S.PUBLISHED
    else:
        with pytest.raises(NotPermitted):
            run()
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
            assert len(state(case)["events"]) == len(before["events"]) + 1
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
