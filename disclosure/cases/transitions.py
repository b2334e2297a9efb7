"""The transitions table: which action may run from which stage, by whom,
and on what condition.

This one declarative table is read by the services (guards), the access
module (roles), the UI buttons and API (``available_actions``) and the tests.
Stage actions move the case to ``target``; the others leave the stage alone.
Each action may also carry a ``precondition`` on the case's state (not yet
acknowledged, an attestation to countersign, ...) and be blocked by a legal
hold; ``refusal`` answers all of it for the services and ``available_actions``
alike, so a button is shown exactly when its service would accept it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import Count, Q

from disclosure.accounts.models import Role
from disclosure.core.errors import DomainError, LegalHoldActive, TransitionNotAllowed

from .stages import STAGE_TIME_FIELD, Stage

_WORKERS = frozenset({Role.ANALYST, Role.LEAD, Role.ADMIN})
_WORKERS_AND_VENDOR = _WORKERS | {Role.VENDOR_CONTACT}
_ALL_OPEN = frozenset(s for s in Stage if s != Stage.CLOSED)
_ALL = frozenset(Stage)
_FROM_NOTIFIED = frozenset(
    {Stage.VENDOR_NOTIFIED, Stage.SECURED, Stage.DATA_DELETED, Stage.PUBLISHED}
)
# Milestones an early publication or a close skipped may still be recorded.
_LATE = frozenset({Stage.PUBLISHED, Stage.CLOSED})

# A precondition gets the case (locked, in the services) and returns None when
# the action may run, else the reason it may not, written for the user.
Precondition = Callable[..., str | None]


def _attestation(case):
    """The case's deletion attestation, or None (cached on the case when
    selected with ``select_related("deletion_attestation")``)."""
    return getattr(case, "deletion_attestation", None)


def _not_yet_acknowledged(case) -> str | None:
    if case.vendor_acknowledged_at is not None:
        return (
            f"The vendor acknowledged {case.reference} already, at "
            f"{case.vendor_acknowledged_at.isoformat()}."
        )
    return None


def _vendor_was_notified(case) -> str | None:
    if case.vendor_notified_at is None:
        return (
            f"{case.reference}'s vendor was never notified: there is no exposure "
            "of theirs to record as secured."
        )
    return None


def _secured_without_attestation(case) -> str | None:
    if case.secured_at is None:
        return f"Record that {case.reference}'s asset is secured before recording deletion."
    if _attestation(case) is not None:
        return f"{case.reference} has a deletion attestation already."
    return None


def _attestation_to_countersign(case) -> str | None:
    attestation = _attestation(case)
    if attestation is None:
        return f"{case.reference} has no deletion attestation to countersign."
    if attestation.countersigned_at is not None:
        return (
            f"{case.reference}'s deletion attestation is countersigned already, at "
            f"{attestation.countersigned_at.isoformat()}."
        )
    return None


def _open_disputes(case) -> tuple[int, int]:
    """(open, open and unanswered) disputes of the case: read from the
    case's ``open_dispute_count`` and ``unanswered_dispute_count`` when it
    was selected with them (``selectors.case_list``: no query), else one
    query per case object (kept on it); the services ask on the row they
    locked."""
    if hasattr(case, "open_dispute_count") and hasattr(case, "unanswered_dispute_count"):
        return case.open_dispute_count, case.unanswered_dispute_count
    counts = getattr(case, "_open_disputes", None)
    if counts is None:
        found = case.disputes.filter(status="open").aggregate(
            open=Count("id"), unanswered=Count("id", filter=Q(answered_at__isnull=True))
        )
        counts = case._open_disputes = (found["open"], found["unanswered"])
    return counts


def _open_dispute(case) -> str | None:
    if not _open_disputes(case)[0]:
        return f"{case.reference} has no open dispute."
    return None


def _unanswered_dispute(case) -> str | None:
    if not _open_disputes(case)[1]:
        return f"{case.reference} has no open dispute that the firm has not answered."
    return None


def _secured(case) -> str | None:
    if case.secured_at is None:
        return (
            f"{case.reference}'s asset was never recorded as secured: a re-exposure "
            "follow-up needs a secured asset."
        )
    return None


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    source: frozenset[Stage]
    roles: frozenset[Role]
    requires: str
    target: Stage | None = None
    # Stages from which the action is allowed only with an override by one of
    # ``override_roles`` and a written justification.
    override_source: frozenset[Stage] = field(default_factory=frozenset)
    override_roles: frozenset[Role] = field(default_factory=frozenset)
    # Stages from which a milestone that an earlier move skipped (publishing
    # before securing or deleting) may still be recorded, once. The case's
    # stage does not move back; only the milestone's time is set.
    late_source: frozenset[Stage] = field(default_factory=frozenset)
    # What else the case's state must satisfy (see ``Precondition``).
    precondition: Precondition | None = None
    # When set, a legal hold blocks the action; the text says what it protects.
    legal_hold_blocks: str = ""

    @property
    def changes_stage(self) -> bool:
        return self.target is not None


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition(
            action="notify_vendor",
            label="Record vendor notification",
            source=frozenset({Stage.FOUND}),
            target=Stage.VENDOR_NOTIFIED,
            roles=_WORKERS,
            requires="the notice as a communication: to whom, by which channel",
        ),
        Transition(
            action="secure",
            label="Record asset secured",
            source=frozenset({Stage.VENDOR_NOTIFIED}),
            target=Stage.SECURED,
            roles=_WORKERS_AND_VENDOR,
            requires="a re-test result or the vendor's confirmation",
            late_source=_LATE,
            precondition=_vendor_was_notified,
        ),
        Transition(
            action="record_deletion",
            label="Record deletion of our copies",
            source=frozenset({Stage.SECURED}),
            target=Stage.DATA_DELETED,
            roles=_WORKERS,
            requires="a deletion attestation",
            late_source=_LATE,
            precondition=_secured_without_attestation,
            legal_hold_blocks="its copies are evidence and may not be deleted",
        ),
        Transition(
            action="publish",
            label="Record publication",
            source=frozenset({Stage.SECURED, Stage.DATA_DELETED}),
            target=Stage.PUBLISHED,
            roles=_WORKERS,
            requires="the advisory's URL, title and publication time",
            override_source=frozenset({Stage.VENDOR_NOTIFIED}),
            override_roles=frozenset({Role.LEAD}),
        ),
        Transition(
            action="close",
            label="Close case",
            source=_ALL_OPEN,
            target=Stage.CLOSED,
            roles=frozenset({Role.LEAD, Role.ADMIN}),
            requires="a close reason (and why, when not published)",
            legal_hold_blocks="it cannot be closed",
        ),
        Transition(
            action="acknowledge",
            label="Record vendor acknowledgement",
            source=_FROM_NOTIFIED,
            roles=_WORKERS_AND_VENDOR,
            requires="when the vendor acknowledged",
            precondition=_not_yet_acknowledged,
        ),
        Transition(
            action="log_communication",
            label="Log a communication",
            source=_ALL,
            roles=_WORKERS_AND_VENDOR,
            requires="direction, channel, parties and content",
        ),
        Transition(
            action="send_mail",
            label="Write to the vendor",
            source=_ALL,
            roles=_WORKERS,
            requires="recipients among the vendor's known addresses (any address for a "
            "first notice, with where it was found), a subject and the text",
        ),
        Transition(
            action="attach_evidence",
            label="Attach evidence",
            source=_ALL_OPEN,
            roles=_WORKERS_AND_VENDOR,
            requires="a file",
        ),
        Transition(
            action="file_dispute",
            label="File a dispute",
            source=_ALL,
            roles=_WORKERS_AND_VENDOR,
            requires="what is disputed, both positions and their provenance",
        ),
        Transition(
            action="answer_dispute",
            label="Answer a dispute",
            source=_ALL,
            roles=_WORKERS,
            requires="the open dispute and the firm's answer",
            precondition=_unanswered_dispute,
        ),
        Transition(
            action="settle_dispute",
            label="Settle a dispute",
            source=_ALL,
            roles=frozenset({Role.LEAD, Role.ADMIN}),
            requires="the open dispute, the outcome (accepted, rejected, withdrawn, "
            "superseded) and the reason",
            precondition=_open_dispute,
        ),
        Transition(
            action="countersign_attestation",
            label="Countersign the deletion attestation",
            source=frozenset({Stage.DATA_DELETED, Stage.PUBLISHED, Stage.CLOSED}),
            roles=frozenset({Role.VENDOR_CONTACT}),
            requires="a deletion attestation not yet countersigned",
            precondition=_attestation_to_countersign,
        ),
        Transition(
            action="correct_event",
            label="Correct an earlier event",
            source=_ALL,
            roles=_WORKERS,
            requires="the event corrected and the reason",
        ),
        Transition(
            action="set_legal_hold",
            label="Set or lift legal hold",
            source=_ALL,
            roles=frozenset({Role.LEGAL, Role.LEAD, Role.ADMIN}),
            requires="a reason",
        ),
        Transition(
            action="escalate",
            label="Escalate to a third party",
            source=_FROM_NOTIFIED,
            roles=frozenset({Role.LEAD, Role.ADMIN}),
            requires="to whom (CERT, cloud provider, regulator), when and why",
        ),
        Transition(
            action="update_details",
            label="Edit case details",
            source=_ALL_OPEN,
            roles=_WORKERS,
            requires="the changed fields",
        ),
        Transition(
            action="open_follow_up",
            label="Open a follow-up case (re-exposure)",
            source=frozenset({Stage.SECURED, Stage.DATA_DELETED, Stage.PUBLISHED, Stage.CLOSED}),
            roles=_WORKERS,
            requires="evidence of the new exposure",
            precondition=_secured,
        ),
    ]
}

STAGE_TRANSITIONS: dict[str, Transition] = {a: t for a, t in TRANSITIONS.items() if t.changes_stage}

# Who may open a new case (it has no stage before it exists).
OPEN_CASE_ROLES = _WORKERS


def get(action: str) -> Transition:
    try:
        return TRANSITIONS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}") from None


def allowed_from(
    action: str, stage: str, *, with_override: bool = False, late: bool = False
) -> bool:
    """Whether ``action`` may run while the case is at ``stage``: from its
    sources, or also from its override sources (``with_override``) or its
    late sources (``late``: the milestone was skipped and is still missing)."""
    t = get(action)
    stage = Stage(stage)
    return (
        stage in t.source
        or (with_override and stage in t.override_source)
        or (late and stage in t.late_source)
    )


def refusal(action: str, case, *, with_override: bool = False) -> DomainError | None:
    """Why the table refuses ``action`` on ``case`` as it is now, or None.

    The action runs from one of its sources, from an override source when
    ``with_override`` (whether the actor may override is the caller's
    question: it depends on who asks), or from a late source while its
    milestone is still missing; then not under a legal hold that blocks it
    (LegalHoldActive), and only when its precondition holds
    (TransitionNotAllowed with the precondition's reason).
    """
    t = get(action)
    stage = Stage(case.stage)
    if stage in t.source or (with_override and stage in t.override_source):
        pass
    elif stage in t.late_source:
        recorded = getattr(case, STAGE_TIME_FIELD[t.target])
        if recorded is not None:
            return TransitionNotAllowed(
                f"{case.reference}: '{t.target.label.lower()}' was recorded already, at "
                f"{recorded.isoformat()}; correct that event instead."
            )
    else:
        allowed = ", ".join(s.label.lower() for s in Stage if s in t.source)
        return TransitionNotAllowed(
            f"{case.reference} is {stage.label.lower()}: "
            f"'{t.label}' is allowed only when the case is {allowed}."
        )
    if t.legal_hold_blocks and case.legal_hold:
        return LegalHoldActive(f"{case.reference} is under legal hold: {t.legal_hold_blocks}.")
    reason = t.precondition(case) if t.precondition is not None else None
    return TransitionNotAllowed(reason) if reason else None


def runs_now(action: str, case, *, with_override: bool = False) -> bool:
    """Whether the table lets ``action`` run on ``case`` now (see ``refusal``)."""
    return refusal(action, case, with_override=with_override) is None


def stage_action_between(source: str, target: str) -> Transition | None:
    """The stage action that records ``target`` while the case is at ``source``."""
    for t in STAGE_TRANSITIONS.values():
        if t.target == target and source in t.source | t.override_source | t.late_source:
            return t
    return None
