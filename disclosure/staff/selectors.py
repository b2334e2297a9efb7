"""Reads for the staff dashboard: deadlines, recent activity and stage times
across the cases a user may see, each in one query (or a fixed few)."""

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from disclosure.cases import access, selectors
from disclosure.cases.deadlines import Deadline, next_deadline, overdue_by_column
from disclosure.cases.models import Case
from disclosure.cases.visibility import VENDOR_EVENT_KEYS
from disclosure.core.hashing import sha256_hex
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
    counts = base.order_by().filter(next_due_at__lt=at + soon).aggregate(
        overdue=Count("pk", filter=late), due_soon=Count("pk", filter=~late)
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


# (key, label, case field reached); each is measured from found_at.
MILESTONES: tuple[tuple[str, str, str], ...] = (
    ("notified", "Found → notified", "vendor_notified_at"),
    ("secured", "Found → secured", "secured_at"),
    ("deleted", "Found → deleted", "data_deleted_at"),
    ("published", "Found → published", "published_at"),
)


@dataclass(frozen=True)
class StageTime:
    """Days from found to a milestone across the cases that reached it."""

    key: str
    label: str
    cases: int
    minimum: float | None = None
    p25: float | None = None
    median: float | None = None
    p75: float | None = None
    maximum: float | None = None


STAGE_TIMES_CACHE_SECONDS = 300


def stage_times(user, *, cached: bool = True) -> list[StageTime]:
    """For each milestone, over the visible cases that reached it: how many,
    and the minimum, quartiles and maximum of the days from found to it. One
    query (PostgreSQL computes the percentiles; elsewhere Python does, from
    the four timestamps of each case). Statistics over every case change
    slowly and cost a scan and four sorts, so the figures are cached for
    five minutes, keyed by the SQL of the user's visible cases (users who
    see the same cases share them)."""
    qs = selectors.case_list(user).order_by()
    if not cached:
        return _stage_times(qs)
    sql, params = qs.values("pk").query.sql_with_params()
    key = "staff:stage_times:" + sha256_hex(repr((connection.vendor, sql, params)).encode())
    return cache.get_or_set(key, lambda: _stage_times(qs), STAGE_TIMES_CACHE_SECONDS)


def _stage_times(qs: QuerySet[Case]) -> list[StageTime]:
    if connection.vendor == "postgresql":
        return _stage_times_pg(qs)
    values = {key: [] for key, _l, _f in MILESTONES}
    rows = qs.filter(vendor_notified_at__isnull=False).values_list(
        "found_at", *(f for _k, _l, f in MILESTONES)
    )
    for found, *reached in rows:
        for (key, _l, _f), at in zip(MILESTONES, reached, strict=True):
            if at is not None:
                values[key].append((at - found).total_seconds() / 86400)
    return [_summary(key, label, values[key]) for key, label, _f in MILESTONES]


def _summary(key: str, label: str, days: list[float]) -> StageTime:
    if not days:
        return StageTime(key, label, 0)
    days.sort()
    if len(days) == 1:
        q1 = q3 = days[0]
    else:
        q1, _, q3 = statistics.quantiles(days, n=4, method="inclusive")
    return StageTime(key, label, len(days), days[0], q1, statistics.median(days), q3, days[-1])


def _stage_times_pg(qs: QuerySet[Case]) -> list[StageTime]:
    from django.contrib.postgres.fields import ArrayField
    from django.db.models import Aggregate, FloatField

    class Quartiles(Aggregate):
        """[min, p25, median, p75, max] of an interval, in days (NULLs skipped)."""

        function = "percentile_cont"
        template = (
            "percentile_cont(ARRAY[0, 0.25, 0.5, 0.75, 1]) WITHIN GROUP "
            "(ORDER BY EXTRACT(EPOCH FROM %(expressions)s) / 86400.0)"
        )
        output_field = ArrayField(FloatField())

    aggregates = {}
    for key, _label, field in MILESTONES:
        aggregates[f"{key}_n"] = Count(field)
        aggregates[f"{key}_q"] = Quartiles(F(field) - F("found_at"))
    row = qs.aggregate(**aggregates)
    result = []
    for key, label, _field in MILESTONES:
        q = row[f"{key}_q"]
        if not row[f"{key}_n"] or q is None:
            result.append(StageTime(key, label, 0))
        else:
            result.append(StageTime(key, label, row[f"{key}_n"], *(float(v) for v in q)))
    return result


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
