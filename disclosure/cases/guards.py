"""What every case service does first: lock, check access and stage, check times."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from disclosure.core.errors import InvalidTimestamp, NotFound
from disclosure.core.timeutils import now
from disclosure.ledger.services import require_consistent

from . import access, transitions
from .deadlines import store_next_due
from .models import Case
from .stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage

# The system's own work (received mail), never a value a request can pass.
_SYSTEM = object()


@contextmanager
def locked_case(case: Case, *, actor, action: str, stage_checked: bool = True) -> Iterator[Case]:
    """Open a transaction, lock the case row and yield a fresh copy of it.

    Raises NotPermitted when ``actor`` may not take ``action`` on the case,
    LedgerMismatch when the row no longer matches its ledger,
    and TransitionNotAllowed when the current stage does not allow it
    (unless ``stage_checked`` is False: the caller then checks overrides).
    Everything written inside commits or rolls back together, and on a
    normal exit the case's stored next deadline (``next_due_at``) is brought
    up to date.
    """
    with _locked(case, action=action, stage_checked=stage_checked, actor=actor) as locked:
        yield locked


@contextmanager
def system_locked_case(case: Case, *, action: str) -> Iterator[Case]:
    """``locked_case`` for the system itself (received mail logged by
    comms.inbound): the same transaction, row lock, ledger check, stage check
    and deadline upkeep, without a person's access check, since the system
    holds no role. Only for work no user's request started; every request
    goes through ``locked_case``."""
    with _locked(case, action=action, stage_checked=True, actor=_SYSTEM) as locked:
        yield locked


@contextmanager
def _locked(case: Case, *, action: str, stage_checked: bool, actor) -> Iterator[Case]:
    """The body of both: ``actor`` is ``_SYSTEM`` for the system (no access
    check); any other value, None included, is checked."""
    with transaction.atomic():
        try:
            locked = (
                Case.objects.select_for_update(of=("self",))
                .select_related("policy")
                .get(pk=case.pk)
            )
        except Case.DoesNotExist:
            raise NotFound("No such case.") from None
        if actor is not _SYSTEM:
            access.require(actor, action, locked)
        require_consistent(locked)  # never build on a row changed behind the ledger's back
        if stage_checked:
            require_stage(locked, action)
        yield locked
        store_next_due(locked)  # the derived deadline column follows every change


def require_stage(case: Case, action: str, *, with_override: bool = False) -> None:
    """Raise what ``transitions.refusal`` says unless the table lets ``action``
    run now: TransitionNotAllowed for the stage (a late source only while the
    milestone is still missing) or the action's precondition, LegalHoldActive
    when a legal hold blocks it. ``with_override`` also accepts the action's
    override sources (the caller checks who may override)."""
    error = transitions.refusal(action, case, with_override=with_override)
    if error is not None:
        raise error


def previous_stage_time(case: Case, target: Stage) -> datetime | None:
    """The latest recorded time of the stages before ``target`` in the main
    path: a stage may not be dated before it."""
    times = [getattr(case, STAGE_TIME_FIELD[s]) for s in STAGE_ORDER[: STAGE_ORDER.index(target)]]
    return max((t for t in times if t is not None), default=None)


def check_occurred_at(
    value: datetime | None,
    *,
    not_before: datetime | None = None,
    what: str = "it",
    since: str = "the previous stage occurred",
) -> datetime:
    """Return ``value`` if it is aware, not in the future and not before
    ``not_before`` (which is when ``since``); raise InvalidTimestamp saying
    which rule it breaks."""
    if value is None:
        raise InvalidTimestamp(f"Say when {what} happened.", field="occurred_at")
    if timezone.is_naive(value):
        raise InvalidTimestamp(
            "Times need a time zone (e.g. 2022-09-24T08:00:00Z).", field="occurred_at"
        )
    current = now()
    if value > current:
        raise InvalidTimestamp(
            f"{what.capitalize()} cannot be in the future "
            f"({value.isoformat()} is after the server time {current.isoformat()}).",
            field="occurred_at",
        )
    if not_before is not None and value < not_before:
        raise InvalidTimestamp(
            f"{what.capitalize()} cannot be before {not_before.isoformat()}, when {since}.",
            field="occurred_at",
        )
    return value
