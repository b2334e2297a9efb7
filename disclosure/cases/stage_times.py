"""Time from found to each milestone across cases (the dashboard's chart):
how many cases reached it, and the spread of the days it took."""

import statistics
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, F, QuerySet

from disclosure.core.hashing import sha256_hex

from . import access
from .models import Case

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
    """For each milestone, over the cases ``user`` may see that reached it:
    how many, and the minimum, quartiles and maximum of the days from found
    to it. One query (PostgreSQL computes the percentiles; elsewhere Python
    does, from the four timestamps of each case). Statistics over every case
    change slowly and cost a scan and four sorts (about 100 ms at 100,000
    cases), so the figures are cached for five minutes, keyed by the SQL of
    the user's visible cases (users who see the same cases share them), and
    a periodic task (``warm_stage_times``) recomputes the staff's figures
    before they expire."""
    return stage_times_of(access.visible_cases(user), cached=cached)


def stage_times_of(cases: QuerySet[Case], *, cached: bool = True, refresh: bool = False):
    """``stage_times`` over ``cases``; ``refresh`` recomputes and re-caches."""
    qs = cases.order_by()
    if not cached:
        return _stage_times(qs)
    sql, params = qs.values("pk").query.sql_with_params()
    key = "cases:stage_times:" + sha256_hex(repr((connection.vendor, sql, params)).encode())
    if refresh:
        figures = _stage_times(qs)
        cache.set(key, figures, STAGE_TIMES_CACHE_SECONDS)
        return figures
    return cache.get_or_set(key, lambda: _stage_times(qs), STAGE_TIMES_CACHE_SECONDS)


def warm_stage_times() -> list[StageTime]:
    """Recompute and cache the figures every staff member sees (all cases),
    so that the dashboard never computes them while a user waits."""
    return stage_times_of(Case.objects.all(), refresh=True)


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
