"""Reads for the staff dashboard: deadlines and recent activity across the
cases a user may see, each in one query (or a fixed few); the stage-time
figures come from ``cases.stage_times``."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q

from disclosure.cases import access, selectors
from disclosure.cases.deadlines import Deadline, next_deadline, overdue_by_column
from disclosure.cases.models import Case
from disclosure.cases.stage_times import StageTime
from disclosure.cases.visibility import VENDOR_EVENT_KEYS
from disclosure.ledger.models import CaseEvent


@dataclass(frozen=True)
class DueCase:
    case: Case
    deadline: Deadline
    delta: timedelta  # due - now: negative when overdue


@dataclass(frozen=True)
class DeadlineBoard:
    overdue_count: int
    due_soon_count: int
    overdue: list[DueCase]  # most overdue first
    due_soon: list[DueCase]  # soonest first
    soon: timedelta


def deadline_board(
    user, at: datetime, *, soon: timedelta = timedelta(days=7), limit: int = 10
) -> DeadlineBoard:
    """What is overdue and what falls due within ``soon`` among the cases
    ``user`` may see, with each case's next deadline: three queries whatever
    the number of cases (both counts, two short lists), each a range scan of
    the stored next deadline (``Case.next_due_at``)."""
    base = selectors.case_list(user)
    late = overdue_by_column(at)
    due_soon = Q(next_due_at__gte=at, next_due_at__lt=at + soon)
    counts = (
        base.order_by()
        .filter(next_due_at__lt=at + soon)
        .aggregate(overdue=Count("pk", filter=late), due_soon=Count("pk", filter=~late))
    )

    def rows(condition: Q) -> list[DueCase]:
        result = []
        for case in base.filter(condition).order_by("next_due_at", "pk")[:limit]:
            deadline = next_deadline(case)
            if deadline is not None:
                result.append(DueCase(case, deadline, deadline.due - at))
        return result

    return DeadlineBoard(
        overdue_count=counts["overdue"],
        due_soon_count=counts["due_soon"],
        overdue=rows(late),
        due_soon=rows(due_soon),
        soon=soon,
    )


def recent_activity(user, *, limit: int = 15) -> list[CaseEvent]:
    """The latest ledger events across the cases ``user`` may see, newest
    appended first, with their case: one query. Vendors would see only the
    kinds the visibility declaration shares, never internal events (the
    same rule as ``selectors.events_for``)."""
    rows = CaseEvent.objects.filter(case__in=access.visible_cases(user))
    if not access.can_use_staff_ui(user):
        rows = rows.filter(internal=False, kind__in=list(VENDOR_EVENT_KEYS))
    return list(
        rows.select_related("case").only(
            "seq", "kind", "occurred_at", "recorded_at", "actor_snapshot", "internal",
            "case__reference", "case__title", "case__time_zone",
        ).order_by("-id")[:limit]
    )  # fmt: skip


def chart_data(times: list[StageTime]) -> dict:
    """The stage-time figures as plain JSON for the dashboard's chart."""
    return {
        "labels": [t.label for t in times],
        "cases": [t.cases for t in times],
        "range": [[_r(t.minimum), _r(t.maximum)] for t in times],
        "middle": [[_r(t.p25), _r(t.p75)] for t in times],
        "median": [_r(t.median) for t in times],
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
