"""Deadlines across many cases: which are pending, which is next, which are overdue.

``policies.case_due_dates`` gives one case's dates in Python. Lists and the
dashboard need the same rule as SQL, so that they can filter and sort
100,000 cases without loading them. Both forms live here and a test holds
them equal (business-day policies included).

A case has deadlines once the vendor is notified and until it is closed:
*acknowledge* until the vendor acknowledges, *secure* until the asset is
secured, *publish* until the advisory is published (the policy's publish
date; grace days are not counted). A deadline is overdue once it is past
(``due < at``, as in ``policies.is_unresponsive``).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Case as When_
from django.db.models import DateTimeField, DurationField, F, Q, QuerySet, Value, When
from django.db.models.functions import ExtractIsoWeekDay, Least, NullIf

from .models import Case, DisclosurePolicy
from .policies import add_days, case_due_dates

# (name, label, policy field with its days, case field that ends it)
KINDS: tuple[tuple[str, str, str, str], ...] = (
    ("acknowledge", "Acknowledge", "days_to_acknowledge", "vendor_acknowledged_at"),
    ("secure", "Secure", "days_to_secure", "secured_at"),
    ("publish", "Publish", "days_to_publish", "published_at"),
)
_FAR = datetime(9999, 1, 1, tzinfo=UTC)
_DOW = "deadline_notified_dow"


@dataclass(frozen=True)
class Deadline:
    kind: str  # acknowledge | secure | publish
    label: str
    due: datetime

    def overdue(self, at: datetime) -> bool:
        return self.due < at


def pending_deadlines(case: Case) -> list[Deadline]:
    """The case's deadlines still open, earliest first (none before the
    notification or after closing). Reads ``case.policy``: select it."""
    due = case_due_dates(case)
    if due is None or case.closed_at is not None:
        return []
    found = [
        Deadline(kind, label, getattr(due, kind))
        for kind, label, _days, done in KINDS
        if getattr(case, done) is None
    ]
    return sorted(found, key=lambda d: d.due)


def next_deadline(case: Case) -> Deadline | None:
    """The earliest open deadline of ``case``, or None."""
    pending = pending_deadlines(case)
    return pending[0] if pending else None


def _business_offsets(days: int) -> dict[int, int]:
    """ISO weekday of the start (1 = Monday) -> calendar days that ``days``
    business days add from it (``add_days`` keeps the time of day)."""
    monday = datetime(2024, 1, 1, 12, tzinfo=UTC)
    offsets = {}
    for w in range(1, 8):
        start = monday + timedelta(days=w - 1)
        offsets[w] = (add_days(start, days, business_days=True) - start).days
    return offsets


def _pending(done_field: str) -> Q:
    return Q(vendor_notified_at__isnull=False, closed_at__isnull=True, **{done_field: None})


def _offsets(policy: DisclosurePolicy, days_field: str) -> list[tuple[Q, int]]:
    """(extra condition, calendar days) pairs that cover every case of ``policy``."""
    days = getattr(policy, days_field)
    if not policy.business_days:
        return [(Q(), days)]
    return [(Q(**{_DOW: w}), k) for w, k in _business_offsets(days).items()]


def with_deadline_columns(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` with what ``overdue_q`` and ``next_due_expression`` read (the
    notification's weekday in UTC, for business-day policies)."""
    return qs.alias(**{_DOW: ExtractIsoWeekDay("vendor_notified_at", tzinfo=UTC)})


def overdue_q(policies: Iterable[DisclosurePolicy], at: datetime) -> Q:
    """Cases with an open deadline past at ``at``, as a condition that
    compares ``vendor_notified_at`` with constants (index-friendly). Use on a
    queryset passed through ``with_deadline_columns``."""
    parts = []
    for policy in policies:
        for _kind, _label, days_field, done in KINDS:
            for extra, k in _offsets(policy, days_field):
                parts.append(
                    Q(policy_id=policy.pk)
                    & _pending(done)
                    & extra
                    & Q(vendor_notified_at__lt=at - timedelta(days=k))
                )
    return reduce(or_, parts, Q(pk__in=[]))


def next_due_expression(policies: Iterable[DisclosurePolicy]):
    """SQL for a case's next open deadline (NULL when none), matching
    ``next_deadline(case).due``. Use on a queryset passed through
    ``with_deadline_columns``. Shaped for speed over many rows: per kind,
    one test of whether it is open, then the policy's offset."""
    policies = list(policies)
    per_kind = []
    for _kind, _label, days_field, done in KINDS:
        offsets = [
            When(Q(policy_id=policy.pk) & extra, then=Value(timedelta(days=k)))
            for policy in policies
            for extra, k in _offsets(policy, days_field)
        ]
        if not offsets:
            continue
        offset = When_(*offsets, default=None, output_field=DurationField())
        per_kind.append(
            When_(
                When(Q(**{done: None}), then=F("vendor_notified_at") + offset),
                default=Value(_FAR),
                output_field=DateTimeField(),
            )
        )
    if not per_kind:
        return Value(None, output_field=DateTimeField())
    earliest = Least(*per_kind) if len(per_kind) > 1 else per_kind[0]
    open_case = Q(vendor_notified_at__isnull=False, closed_at__isnull=True)
    return When_(
        When(open_case, then=NullIf(earliest, Value(_FAR), output_field=DateTimeField())),
        default=None,
        output_field=DateTimeField(),
    )
