"""``available_actions`` lists an action exactly when its service accepts it.

For cases in every stage and state that the services can produce, and for
every kind of actor, each action of the table is tried through its service
with valid arguments (written out below, per action) inside a savepoint that
is rolled back: a listed action must be accepted, an unlisted one refused
for its role, its stage or its precondition (never for an argument).
"""

import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import transaction

from disclosure.cases import access, services, transitions
from disclosure.cases.models import Case
from disclosure.cases.stages import CloseReason, Stage
from disclosure.comms.outbound import send_case_mail
from disclosure.core.errors import (
    DomainError,
    LegalHoldActive,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
)
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import (
    advance,
    capture,
    deletion_kwargs,
    inbound_kwargs,
    make_case,
    notify_kwargs,
    publish_kwargs,
)

pytestmark = pytest.mark.django_db

S = Stage
REFUSALS = (NotFound, NotPermitted, TransitionNotAllowed, LegalHoldActive)
ACTORS = [
    "analyst",
    "lead",
    "legal",
    "admin_user",
    "vendor_contact",
    "other_vendor_contact",
    "outsider",
    "anonymous",
]


def _days_ago(days: float):
    return now() - timedelta(days=days)


def _published_early(ctx) -> Case:
    """Published by a lead's override straight after the notification:
    neither secured nor deleted."""
    case = make_case(S.VENDOR_NOTIFIED, actor=ctx["lead"], vendor=ctx["vendor"])
    return advance(
        case, S.PUBLISHED, actor=ctx["lead"], at=_days_ago(9), justification=JUSTIFICATION
    )


def _published_from_secured(ctx) -> Case:
    """Published once secured, before the firm's copies were deleted."""
    case = make_case(S.SECURED, actor=ctx["lead"], vendor=ctx["vendor"])
    return advance(case, S.PUBLISHED, actor=ctx["lead"], at=_days_ago(9))


def _closed(case: Case, ctx) -> Case:
    return advance(case, S.CLOSED, actor=ctx["lead"], at=_days_ago(8))


def _hold(case: Case, ctx) -> Case:
    return services.set_legal_hold(actor=ctx["legal"], case=case, on=True, reason="Litigation.")


def _at(stage):
    return lambda ctx: make_case(
        stage, actor=ctx["analyst"], lead=ctx["lead"], vendor=ctx["vendor"], verifier=ctx["lead"]
    )


def _acknowledged(ctx) -> Case:
    case = _at(S.VENDOR_NOTIFIED)(ctx)
    return services.acknowledge(actor=ctx["vendor_contact"], case=case, occurred_at=_days_ago(9))


def _countersigned(ctx) -> Case:
    case = _at(S.DATA_DELETED)(ctx)
    services.countersign_attestation(actor=ctx["vendor_contact"], case=case)
    return case


def _disputed(ctx, *, answered: bool = False, settled: bool = False) -> Case:
    case = _at(S.VENDOR_NOTIFIED)(ctx)
    dispute = services.file_dispute(
        actor=ctx["vendor_contact"], case=case, subject="Count", firm_position="65,000",
        firm_provenance="Our count", vendor_position="Fewer", vendor_provenance="Theirs",
    )  # fmt: skip
    if answered:
        services.answer_dispute(actor=ctx["analyst"], case=case, dispute=dispute, answer="No.")
    if settled:
        services.settle_dispute(actor=ctx["lead"], case=case, dispute=dispute,
                                outcome="withdrawn", reason="They withdrew it.")  # fmt: skip
    return Case.objects.get(pk=case.pk)


STATES = {
    "disputed": _disputed,
    "dispute_answered": lambda ctx: _disputed(ctx, answered=True),
    "dispute_settled": lambda ctx: _disputed(ctx, answered=True, settled=True),
    "found": _at(S.FOUND),
    "vendor_notified": _at(S.VENDOR_NOTIFIED),
    "acknowledged": _acknowledged,
    "secured": _at(S.SECURED),
    "data_deleted": _at(S.DATA_DELETED),
    "countersigned": _countersigned,
    "published": _at(S.PUBLISHED),
    "published_early": _published_early,
    "published_before_deletion": _published_from_secured,
    "closed": _at(S.CLOSED),
    "closed_from_found": _at(S.FOUND),  # closed below
    "closed_after_early_publication": lambda ctx: _closed(_published_early(ctx), ctx),
    "closed_before_deletion": lambda ctx: _closed(_published_from_secured(ctx), ctx),
    "secured_on_hold": lambda ctx: _hold(_at(S.SECURED)(ctx), ctx),
    "published_before_deletion_on_hold": lambda ctx: _hold(_published_from_secured(ctx), ctx),
    "closed_before_deletion_on_hold": lambda ctx: _hold(
        _closed(_published_from_secured(ctx), ctx), ctx
    ),
}


def _build(name: str, ctx) -> Case:
    case = STATES[name](ctx)
    if name == "closed_from_found":
        case = _closed(case, ctx)
    return case


def _call(action: str, actor, case: Case, ctx):
    """Run ``action``'s service with valid arguments for ``case``'s state."""
    at = now() - timedelta(minutes=1)
    if action == "notify_vendor":
        return services.notify_vendor(actor=actor, case=case, **notify_kwargs(at))
    if action == "secure":
        return services.secure(actor=actor, case=case, occurred_at=at, retest_result="HTTP 403")
    if action == "record_deletion":
        return services.record_deletion(
            actor=actor, case=case, **deletion_kwargs(ctx["analyst"], ctx["lead"], at)
        )
    if action == "publish":
        return services.publish(
            actor=actor, case=case, **publish_kwargs(at, override_justification=JUSTIFICATION)
        )
    if action == "close":
        reason = CloseReason.PUBLISHED if case.stage == S.PUBLISHED else CloseReason.INVALID
        return services.close_case(actor=actor, case=case, reason=reason, occurred_at=at)
    if action == "acknowledge":
        return services.acknowledge(actor=actor, case=case, occurred_at=at)
    if action == "log_communication":
        return services.log_communication(actor=actor, case=case, **inbound_kwargs(at))
    if action == "send_mail":
        return send_case_mail(actor=actor, case=case, to=["security@contoso.example"],
                              subject="Status", body="Is the bucket closed?")  # fmt: skip
    if action == "attach_evidence":
        return services.attach_evidence(
            actor=actor, case=case, file=IncomingFile("later.txt", io.BytesIO(b"a later capture"))
        )
    if action == "file_dispute":
        return services.file_dispute(
            actor=actor,
            case=case,
            subject="Number of entities",
            firm_position="65,000",
            firm_provenance="Our count of distinct domains",
            vendor_position="Far fewer",
            vendor_provenance="Vendor statement",
            filed_at=at,
        )
    if action in ("answer_dispute", "settle_dispute"):
        dispute = case.disputes.filter(status="open").first()  # None: no open dispute
        if action == "answer_dispute":
            dispute = case.disputes.filter(status="open", answered_at__isnull=True).first()
            return services.answer_dispute(actor=actor, case=case, dispute=dispute, answer="Ours.")
        return services.settle_dispute(
            actor=actor, case=case, dispute=dispute, outcome="accepted", reason="They were right."
        )
    if action == "countersign_attestation":
        return services.countersign_attestation(actor=actor, case=case)
    if action == "correct_event":
        return services.correct_event(
            actor=actor, case=case, seq=1, reason="Typo", statement="The title had a typo."
        )
    if action == "set_legal_hold":
        return services.set_legal_hold(
            actor=actor, case=case, on=not case.legal_hold, reason="Counsel's instruction."
        )
    if action == "escalate":
        return services.escalate(
            actor=actor,
            case=case,
            target="cert",
            organization="CERT-Bund",
            reason="No answer.",
            escalated_at=at,
        )
    if action == "update_details":
        return services.update_details(actor=actor, case=case, changes={"summary": "Updated."})
    if action == "open_follow_up":
        return services.open_follow_up(
            actor=actor,
            case=case,
            found_at=at,
            how_found="Re-scan",
            exposure_evidence=[capture(b"open again\n")],
        )
    raise AssertionError(f"no valid arguments written for {action!r}")


class _Rollback(Exception):
    pass


def _attempt(action: str, actor, case_pk: int, ctx) -> Exception | None:
    """Try the service and roll everything back; return the refusal, if any."""
    outcome: Exception | None = None
    try:
        with transaction.atomic():
            case = Case.objects.get(pk=case_pk)
            try:
                _call(action, actor, case, ctx)
            except DomainError as exc:
                outcome = exc
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def test_every_action_has_valid_arguments_written_here():
    """A new table action must get its row in ``_call``."""
    assert set(transitions.TRANSITIONS) == {
        "notify_vendor",
        "secure",
        "record_deletion",
        "publish",
        "close",
        "acknowledge",
        "log_communication",
        "send_mail",
        "attach_evidence",
        "file_dispute",
        "answer_dispute",
        "settle_dispute",
        "countersign_attestation",
        "correct_event",
        "set_legal_hold",
        "escalate",
        "update_details",
        "open_follow_up",
    }


@pytest.mark.parametrize("state_name", list(STATES))
def test_listed_exactly_when_the_service_accepts(
    state_name,
    request,
    analyst,
    lead,
    legal,
    vendor,
    vendor_contact,
    other_vendor,
    other_vendor_contact,
):
    ctx = {
        "analyst": analyst,
        "lead": lead,
        "legal": legal,
        "vendor": vendor,
        "vendor_contact": vendor_contact,
    }
    case = _build(state_name, ctx)
    before = state(case)
    mismatches = []
    for name in ACTORS:
        actor = AnonymousUser() if name == "anonymous" else request.getfixturevalue(name)
        listed = {t.action for t in access.available_actions(actor, Case.objects.get(pk=case.pk))}
        for action in transitions.TRANSITIONS:
            refusal = _attempt(action, actor, case.pk, ctx)
            wrong_kind = refusal is not None and not isinstance(refusal, REFUSALS)
            if wrong_kind or (action in listed) != (refusal is None):
                mismatches.append(
                    f"{name} {action}: listed={action in listed}, service said "
                    f"{type(refusal).__name__ if refusal else 'ok'}"
                    f"{': ' + refusal.message if refusal else ''}"
                )
    assert mismatches == []
    assert state(case) == before
