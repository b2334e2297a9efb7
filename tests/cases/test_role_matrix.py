"""Who may do what: the role matrix written out by hand.

The expected values below are NOT read from the transitions table or the
access module: they are the design's answer, so a wrong table (letting legal
close cases, say) fails here. Each cell is checked with ``access.can`` and,
for the table's actions, through the service on a case whose stage and
state let the action run (a case the actor may not see is NotFound; a
visible case whose action the role does not allow is NotPermitted).
"""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from disclosure.cases import access, services, transitions
from disclosure.cases.access import Action
from disclosure.cases.stages import CloseReason, Stage
from disclosure.comms.outbound import send_case_mail
from disclosure.core.errors import NotFound, NotPermitted
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import (
    capture,
    deletion_kwargs,
    inbound_kwargs,
    make_case,
    notify_kwargs,
    publish_kwargs,
)

pytestmark = pytest.mark.django_db

S = Stage

# Columns: the actors, in this order.
ACTORS = ["analyst", "lead", "legal", "admin", "vendor", "other", "outsider", "anon"]
FIXTURE = {
    "analyst": "analyst",
    "lead": "lead",
    "legal": "legal",
    "admin": "admin_user",
    "vendor": "vendor_contact",  # a contact of the case's vendor
    "other": "other_vendor_contact",  # a contact of another vendor
    "outsider": "outsider",  # logged in, member of nothing
}

# Y allowed, . refused. "publish_override" is publishing before the asset is
# secured, with a written justification.
MATRIX = """
action                   analyst lead legal admin vendor other outsider anon
notify_vendor            Y       Y    .     Y     .      .     .        .
secure                   Y       Y    .     Y     Y      .     .        .
record_deletion          Y       Y    .     Y     .      .     .        .
publish                  Y       Y    .     Y     .      .     .        .
publish_override         .       Y    .     .     .      .     .        .
close                    .       Y    .     Y     .      .     .        .
acknowledge              Y       Y    .     Y     Y      .     .        .
log_communication        Y       Y    .     Y     Y      .     .        .
send_mail                Y       Y    .     Y     .      .     .        .
attach_evidence          Y       Y    .     Y     Y      .     .        .
file_dispute             Y       Y    .     Y     Y      .     .        .
answer_dispute           Y       Y    .     Y     .      .     .        .
settle_dispute           .       Y    .     Y     .      .     .        .
countersign_attestation  .       .    .     .     Y      .     .        .
correct_event            Y       Y    .     Y     .      .     .        .
set_legal_hold           .       Y    Y     Y     .      .     .        .
escalate                 .       Y    .     Y     .      .     .        .
update_details           Y       Y    .     Y     .      .     .        .
open_follow_up           Y       Y    .     Y     .      .     .        .
view                     Y       Y    Y     Y     Y      .     .        .
view_internal            Y       Y    Y     Y     .      .     .        .
export                   .       Y    Y     Y     .      .     .        .
open_case                Y       Y    .     Y     .      .     .        .
"""


def _parse(matrix: str) -> dict[tuple[str, str], bool]:
    header, *rows = matrix.strip().splitlines()
    assert header.split()[1:] == ACTORS
    out = {}
    for row in rows:
        action, *cells = row.split()
        assert len(cells) == len(ACTORS), action
        for actor, cell in zip(ACTORS, cells, strict=True):
            assert cell in "Y.", (action, actor, cell)
            out[(action, actor)] = cell == "Y"
    return out


EXPECTED = _parse(MATRIX)
ROWS = [line.split()[0] for line in MATRIX.strip().splitlines()[1:]]
CELLS = [(a, who) for a in ROWS for who in ACTORS]


def test_matrix_covers_every_table_action():
    table_rows = set(ROWS) - {"publish_override", "view", "view_internal", "export", "open_case"}
    assert table_rows == set(transitions.TRANSITIONS)


# The stage (and state) from which each action runs in the service check.
RUNS_FROM = {
    "notify_vendor": S.FOUND,
    "secure": S.VENDOR_NOTIFIED,
    "record_deletion": S.SECURED,
    "publish": S.SECURED,
    "publish_override": S.VENDOR_NOTIFIED,
    "close": S.SECURED,
    "acknowledge": S.VENDOR_NOTIFIED,
    "log_communication": S.VENDOR_NOTIFIED,
    "send_mail": S.VENDOR_NOTIFIED,
    "attach_evidence": S.VENDOR_NOTIFIED,
    "file_dispute": S.VENDOR_NOTIFIED,
    "answer_dispute": S.VENDOR_NOTIFIED,
    "settle_dispute": S.VENDOR_NOTIFIED,
    "countersign_attestation": S.DATA_DELETED,
    "correct_event": S.VENDOR_NOTIFIED,
    "set_legal_hold": S.VENDOR_NOTIFIED,
    "escalate": S.VENDOR_NOTIFIED,
    "update_details": S.VENDOR_NOTIFIED,
    "open_follow_up": S.SECURED,
}


# Actions on an open dispute: the case gets one before the check.
ON_A_DISPUTE = ("answer_dispute", "settle_dispute")


def _with_dispute(case, lead):
    services.file_dispute(actor=lead, case=case, subject="Count", firm_position="65,000",
                          firm_provenance="Our count", vendor_position="Fewer",
                          vendor_provenance="Their statement")  # fmt: skip
    return case


def _actor(who, request):
    return AnonymousUser() if who == "anon" else request.getfixturevalue(FIXTURE[who])


def _run(action, actor, case, helpers):
    """``action``'s service with valid arguments."""
    at = now() - timedelta(minutes=1)
    analyst, lead = helpers
    calls = {
        "notify_vendor": lambda: services.notify_vendor(
            actor=actor, case=case, **notify_kwargs(at)
        ),
        "secure": lambda: services.secure(
            actor=actor, case=case, occurred_at=at, retest_result="HTTP 403"
        ),
        "record_deletion": lambda: services.record_deletion(
            actor=actor, case=case, **deletion_kwargs(analyst, lead, at)
        ),
        "publish": lambda: services.publish(actor=actor, case=case, **publish_kwargs(at)),
        "publish_override": lambda: services.publish(
            actor=actor, case=case, **publish_kwargs(at, override_justification=JUSTIFICATION)
        ),
        "close": lambda: services.close_case(
            actor=actor, case=case, reason=CloseReason.INVALID, occurred_at=at
        ),
        "acknowledge": lambda: services.acknowledge(actor=actor, case=case, occurred_at=at),
        "log_communication": lambda: services.log_communication(
            actor=actor, case=case, **inbound_kwargs(at)
        ),
        "attach_evidence": lambda: services.attach_evidence(
            actor=actor, case=case, file=IncomingFile("more.txt", io.BytesIO(b"more"))
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
            subject="Count",
            firm_position="65,000",
            firm_provenance="Our count",
            vendor_position="Fewer",
            vendor_provenance="Their statement",
        ),
        "answer_dispute": lambda: services.answer_dispute(
            actor=actor, case=case, dispute=case.disputes.first(), answer="We stand by it."
        ),
        "settle_dispute": lambda: services.settle_dispute(
            actor=actor,
            case=case,
            dispute=case.disputes.first(),
            outcome="rejected",
            reason="Our count holds.",
        ),
        "countersign_attestation": lambda: services.countersign_attestation(actor=actor, case=case),
        "correct_event": lambda: services.correct_event(
            actor=actor, case=case, seq=1, reason="Typo", statement="The title had a typo."
        ),
        "set_legal_hold": lambda: services.set_legal_hold(
            actor=actor, case=case, on=True, reason="Litigation."
        ),
        "escalate": lambda: services.escalate(
            actor=actor,
            case=case,
            target="cert",
            organization="CERT-Bund",
            reason="No answer.",
            escalated_at=at,
        ),
        "update_details": lambda: services.update_details(
            actor=actor, case=case, changes={"summary": "Updated."}
        ),
        "open_follow_up": lambda: services.open_follow_up(
            actor=actor,
            case=case,
            found_at=at,
            how_found="Re-scan",
            exposure_evidence=[capture(b"again\n")],
        ),
    }
    return calls[action]()


@pytest.mark.parametrize(("action", "who"), CELLS, ids=[f"{a}-{w}" for a, w in CELLS])
def test_can_matches_the_matrix(action, who, request, analyst, lead, vendor, other_vendor):
    actor = _actor(who, request)
    if action == "open_case":
        assert access.can(actor, Action.OPEN_CASE) is EXPECTED[(action, who)]
        return
    stage = RUNS_FROM.get(action, S.VENDOR_NOTIFIED)
    case = make_case(stage, actor=lead, vendor=vendor, verifier=analyst)
    if action in ON_A_DISPUTE:
        case = _with_dispute(case, lead)
    if action == "publish_override":
        assert access.can_override(actor, "publish", case) is EXPECTED[(action, who)]
        return
    name = action if action not in ("view", "view_internal", "export") else Action(action)
    # A contact of the case's vendor may not see it before it is notified.
    visible_to_vendor = stage != S.FOUND
    expected = EXPECTED[(action, who)] and (who != "vendor" or visible_to_vendor)
    assert access.can(actor, name, case) is expected


SERVICE_CELLS = [(a, w) for a, w in CELLS if a in RUNS_FROM]


@pytest.mark.parametrize(
    ("action", "who"), SERVICE_CELLS, ids=[f"{a}-{w}" for a, w in SERVICE_CELLS]
)
def test_services_follow_the_matrix(action, who, request, analyst, lead, vendor, other_vendor):
    actor = _actor(who, request)
    case = make_case(RUNS_FROM[action], actor=lead, vendor=vendor, verifier=analyst)
    if action in ON_A_DISPUTE:
        case = _with_dispute(case, lead)
    before = state(case)
    if EXPECTED[(action, who)]:
        _run(action, actor, case, (analyst, lead))
        assert state(case) != before
        return
    sees_case = who in ("analyst", "lead", "legal", "admin") or (
        who == "vendor" and case.stage != S.FOUND
    )
    # Anonymous callers are told to sign in (NotPermitted on the actor); those
    # who may not see the case are told nothing about it (NotFound).
    expected = NotPermitted if sees_case or who == "anon" else NotFound
    with pytest.raises(expected) as exc:
        _run(action, actor, case, (analyst, lead))
    if not sees_case:
        assert case.reference not in exc.value.message
    assert state(case) == before


@pytest.mark.parametrize("who", ACTORS)
def test_open_case_follows_the_matrix(who, request, vendor):
    actor = _actor(who, request)
    run = lambda: make_case(S.FOUND, actor=actor, vendor=vendor)  # noqa: E731
    if EXPECTED[("open_case", who)]:
        assert run().stage == S.FOUND
    else:
        with pytest.raises(NotPermitted):
            run()
