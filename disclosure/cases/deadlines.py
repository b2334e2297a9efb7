"""Deadlines across many cases: which are pending, which is next, which are overdue.

``policies.case_due_dates`` gives one case's dates in Python. Lists and the
dashboard filter and sort 100,000 cases by the next one without loading
them, so it is stored on the case (``Case.next_due_at``, indexed): every case
service writes it under the case lock (``store_next_due``, from
``guards.locked_case``, which policy edits go through too), and bulk loads
and migrations rewrite it in SQL (``refresh_next_due``, the same rule as an
expression). Both count from the terms recorded on the case (``terms.py``),
not from its policy row; both forms live here and tests hold them equal
(business-day terms included).

A case has deadlines once the vendor is notified and until it is closed:
*acknowledge* until the vendor acknowledges, *secure* until the asset is
secured, *publish* until the advisory is published (the policy's publish
date; grace days are not counted). A deadline is overdue once it is past
(``due < at``, as in ``policies.is_unresponsive``).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db.models import Case as When_
from django.db.models import DateTimeField, DurationField, F, Q, QuerySet, Value, When
from django.db.models.functions import ExtractIsoWeekDay, Least, NullIf

from .models import Case, DisclosurePolicy
from .policies import add_days, case_due_dates
from .terms import TERMS_COLUMNS, policy_terms, row_terms

# (name, label, terms field with its days, case field that ends it)
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
    notification or after closing), from its recorded terms."""
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


def _offsets(terms: Mapping[str, Any], days_field: str) -> list[tuple[Q, int]]:
    """(extra condition, calendar days) pairs that cover every case under ``terms``."""
    days = terms[days_field]
    if not terms["business_days"]:
        return [(Q(), days)]
    return [(Q(**{_DOW: w}), k) for w, k in _business_offsets(days).items()]


def _under(terms: Mapping[str, Any], days_field: str) -> Q:
    """The cases whose recorded terms give ``days_field`` these days."""
    return Q(
        **{f"terms_{days_field}": terms[days_field], "terms_business_days": terms["business_days"]}
    )


def with_deadline_columns(qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` with what ``next_due_expression`` reads (the notification's
    weekday in UTC, for business-day policies)."""
    return qs.alias(**{_DOW: ExtractIsoWeekDay("vendor_notified_at", tzinfo=UTC)})


def next_due_expression(
    legacy_policies: Iterable[DisclosurePolicy], terms_in_use: Iterable[Mapping[str, Any]] = ()
):
    """SQL for a case's next open deadline (NULL when none), matching
    ``next_deadline(case).due``, for cases whose recorded terms are among
    ``terms_in_use``, and cases with none recorded under ``legacy_policies``
    (counted from the policy as ``policies.case_terms`` does; migration 0004
    passes every policy, before cases had terms). Use on a queryset passed
    through ``with_deadline_columns``. Shaped for speed over many rows: per
    kind, one test of whether it is open, then the offset of the case's
    terms (recorded terms first: a NULL column matches none of them)."""
    terms_in_use, legacy_policies = list(terms_in_use), list(legacy_policies)
    per_kind = []
    for _kind, _label, days_field, done in KINDS:
        distinct = {(t[days_field], t["business_days"]): t for t in terms_in_use}.values()
        offsets = [
            When(_under(terms, days_field) & extra, then=Value(timedelta(days=k)))
            for terms in distinct
            for extra, k in _offsets(terms, days_field)
        ] + [
            When(Q(policy_id=policy.pk) & extra, then=Value(timedelta(days=k)))
            for policy in legacy_policies
            for extra, k in _offsets(policy_terms(policy), days_field)
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


def store_next_due(case: Case) -> None:
    """Make ``case.next_due_at`` (row and instance) equal to the case's next
    open deadline as ``next_deadline`` gives it. Call in the transaction that
    changed the case's milestones, close or terms; writes only on a change."""
    deadline = next_deadline(case)
    due = deadline.due if deadline is not None else None
    if case.next_due_at != due:
        Case.objects.filter(pk=case.pk).update(next_due_at=due)
        case.next_due_at = due


def refresh_next_due(cases: QuerySet[Case]) -> int:
    """Recompute ``next_due_at`` of every case in ``cases`` in one UPDATE
    (after a bulk load or a migration); returns how many rows were written.
    Equal to ``store_next_due`` case by case."""
    chosen = Case.objects.filter(pk__in=cases.values("pk"))
    terms = [row_terms(row) for row in chosen.values(*TERMS_COLUMNS).order_by().distinct()]
    legacy = DisclosurePolicy.objects.filter(
        pk__in=chosen.filter(terms_business_days__isnull=True).values("policy_id")
    )
    expression = next_due_expression(legacy, [t for t in terms if t is not None])
    return with_deadline_columns(chosen).update(next_due_at=expression)


def overdue_by_column(at: datetime) -> Q:
    """Cases with an open deadline past at ``at``, read from the stored
    ``next_due_at`` (an index range scan): those with a pending deadline
    ``overdue(at)``, since the stored date is the earliest pending one."""
    return Q(next_due_at__lt=at)
