"""What every case service does first: lock, check access and stage, check times."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from disclosure.core.errors import InvalidTimestamp, TransitionNotAllowed
from disclosure.core.timeutils import now

from . import access, transitions
from .models import Case
from .stages import STAGE_TIME_FIELD, Stage


@contextmanager
def locked_case(case: Case, *, actor, action: str, stage_checked: bool = True) -> Iterator[Case]:
    """Open a transaction, lock the case row and yield a fresh copy of it.

    Raises NotPermitted when ``actor`` may not take ``action`` on the case,
    and TransitionNotAllowed when the current stage does not allow it
    (unless ``stage_checked`` is False: the caller then checks overrides).
    Everything written inside commits or rolls back together.
    """
    with transaction.atomic():
        locked = Case.objects.select_for_update().get(pk=case.pk)
        access.require(actor, action, locked)
        if stage_checked:
            require_stage(locked, action)
        yield locked


def require_stage(case: Case, action: str) -> None:
    """Raise TransitionNotAllowed unless the table allows ``action`` now."""
    if not transitions.allowed_from(action, case.stage):
        t = transitions.get(action)
        allowed = ", ".join(s.label.lower() for s in Stage if s in t.source)
        raise TransitionNotAllowed(
            f"{case.reference} is {Stage(case.stage).label.lower()}: "
            f"'{t.label}' is allowed only when the case is {allowed}."
        )


def last_stage_time(case: Case) -> datetime:
    """When the case's current stage occurred (the latest stage time)."""
    return getattr(case, STAGE_TIME_FIELD[Stage(case.stage)])


def check_occurred_at(
    value: datetime | None, *, not_before: datetime | None = None, what: str = "it"
) -> datetime:
    """Return ``value`` if it is aware, not in the future and not before
    ``not_before``; raise InvalidTimestamp saying which rule it breaks."""
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
            f"{what.capitalize()} cannot be before {not_before.isoformat()}, "
            "when the previous stage occurred.",
            field="occurred_at",
        )
    return value
