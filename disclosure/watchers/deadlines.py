"""The hourly deadline pass: reminders, missed deadlines and unresponsive
vendors, each recorded once in the case's ledger and told to its staff.

``run_deadline_pass(at)`` evaluates the open cases (notified, not closed)
against the terms they run under (``cases.deadlines.pending_deadlines``:
the terms recorded on the case, business days included) and, for each
pending deadline:

- a **reminder** ``DISCLOSURE_REMINDER_DAYS`` before it (days, e.g. "3,1"):
  when the pass first sees a deadline inside several offsets (the pass did
  not run, or the deadline was moved close) only the nearest is sent; none
  once the deadline has passed;
- **missed** once it has passed (``due < at``, as ``Deadline.overdue``),
  dated when it fell due;
- **vendor unresponsive**: the policy has no silence period of its own; it is
  derived from its deadlines as ``cases.policies.is_unresponsive`` says
  (the case page's badge): the acknowledgement deadline passed without an
  acknowledgement. Recorded once per acknowledgement deadline, dated then,
  with the escalation it suggests (``suggest_escalation``).

Each becomes an internal ledger event (``deadline_reminder``,
``deadline_missed``, ``vendor_unresponsive``, by the system) and a
``DeadlineMark``, unique by (case, deadline, due date, step, days before):
a deadline moved by a policy change or a corrected notification date is a
new due date, so it is reminded and missed anew; the old marks stay as
history. The case's staff get a notice and mail (``watchers.notify``).

Once only, even with two passes racing: the cases are locked (``SELECT ...
FOR UPDATE`` in id order, ``ledger.bulk.lock_cases``) before their marks
are read, so the second pass waits for the first to commit and then finds
its marks; the unique constraint is the last line of defence.

Speed: the cases to look at are chosen in SQL by the indexed
``Case.next_due_at`` (the earliest pending deadline) within the largest
reminder offset, minus those whose ``DeadlineWatch`` says nothing new can
fall due before its ``next_check_at`` (and the case has not changed since:
its ``ledger_seq`` is the one seen). So a pass in which nothing is new runs
one query whatever the number of cases; cases that need something are
handled ``CHUNK`` at a time, each chunk in one transaction with a fixed
number of queries (lock, marks, events, heads, marks, watches, notices and
one mail per recipient).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from disclosure.cases.deadlines import KINDS, pending_deadlines
from disclosure.cases.models import AssetProvider, Case, DataCategory, Escalation
from disclosure.cases.policies import case_due_dates, case_terms, is_unresponsive
from disclosure.core.timeutils import iso_utc, now
from disclosure.ledger import bulk
from disclosure.ledger.models import EventKind

from . import notify
from .models import DeadlineMark, DeadlineStep, DeadlineWatch

logger = logging.getLogger(__name__)

# Cases locked and written in one transaction.
CHUNK = 2000
_LABELS = {kind: label for kind, label, _days, _done in KINDS}
_OPEN = Q(vendor_notified_at__isnull=False, closed_at__isnull=True)


@dataclass
class DeadlinePassResult:
    """What one pass did: the cases it evaluated (``considered``), the events
    it recorded of each kind, and the cases it left alone because their row
    no longer matches their ledger (``mismatched``: verify_ledger says why)."""

    considered: int = 0
    reminders: int = 0
    missed: int = 0
    unresponsive: int = 0
    mismatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "considered": self.considered,
            "reminders": self.reminders,
            "missed": self.missed,
            "unresponsive": self.unresponsive,
            "mismatched": self.mismatched,
        }


def reminder_offsets() -> tuple[int, ...]:
    """``DISCLOSURE_REMINDER_DAYS`` ("3,1") as whole days, largest first
    (empty: no reminders). Raises ImproperlyConfigured for anything but
    comma-separated whole numbers of days from 1 to 365."""
    raw = str(getattr(settings, "DISCLOSURE_REMINDER_DAYS", "3,1"))
    days = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 365:
            raise ImproperlyConfigured(
                f"DISCLOSURE_REMINDER_DAYS must be whole days from 1 to 365 separated by "
                f"commas (e.g. 3,1), not {raw!r}."
            )
        days.add(int(part))
    return tuple(sorted(days, reverse=True))


_CLOUDS = {
    AssetProvider.AZURE, AssetProvider.AWS, AssetProvider.GCP, AssetProvider.ALIBABA,
    AssetProvider.DIGITALOCEAN,
}  # fmt: skip
_PERSONAL = {
    DataCategory.PII, DataCategory.EMAIL_CONTENT, DataCategory.EMAIL_ADDRESSES,
    DataCategory.PHONE_NUMBERS, DataCategory.HEALTH, DataCategory.FINANCIAL,
    DataCategory.GOVERNMENT_ID, DataCategory.CREDENTIALS,
}  # fmt: skip


def suggest_escalation(case: Case) -> dict[str, str]:
    """Whom to take an unresponsive vendor's case to, and why: the cloud
    provider while an asset it hosts is still exposed (it can close it);
    a CERT while a self-hosted asset is (it can reach the owner); once
    secured, the data-protection regulator when personal data was exposed,
    else a CERT. Returns {"target": an Escalation.Target value, "label",
    "reason"}."""
    if case.secured_at is None and case.asset_provider in _CLOUDS:
        target = Escalation.Target.CLOUD_PROVIDER
        reason = (
            f"The asset is still exposed and hosted by "
            f"{AssetProvider(case.asset_provider).label}: its provider can close it."
        )
    elif case.secured_at is None:
        target = Escalation.Target.CERT
        reason = "The asset is still exposed and not hosted by a cloud provider: a national "
        reason += "CERT can reach its owner."
    elif set(case.data_categories or ()) & _PERSONAL:
        target = Escalation.Target.REGULATOR
        reason = "Personal data was exposed and the vendor does not answer: the "
        reason += "data-protection regulator can require the notification of those affected."
    else:
        target = Escalation.Target.CERT
        reason = "The vendor does not answer: a CERT can coordinate with it."
    return {"target": str(target), "label": str(Escalation.Target(target).label), "reason": reason}


@dataclass(frozen=True)
class _Due:
    """One thing to record on one case."""

    deadline: str
    due: datetime
    step: str
    days_before: int
    kind: str  # the ledger event kind
    payload: dict[str, Any]
    occurred_at: datetime | None
    subject: str
    body: str

    @property
    def key(self) -> tuple[str, datetime, str, int]:
        return (self.deadline, self.due, self.step, self.days_before)


def _local(case: Case, when: datetime) -> str:
    """``when`` in UTC and in the case's time zone, for people."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = f"{when:%Y-%m-%d %H:%M} UTC"
    try:
        zone = ZoneInfo(case.time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return text
    if case.time_zone == "UTC":
        return text
    return f"{text} ({when.astimezone(zone):%Y-%m-%d %H:%M} {case.time_zone})"


def evaluate(
    case: Case, at: datetime, offsets: tuple[int, ...], done: set[tuple]
) -> tuple[list[_Due], datetime | None]:
    """What is due on ``case`` at ``at`` and not in ``done`` (the keys of its
    marks), and the earliest later time at which something new can be
    (None: nothing under these terms). Reads nothing from the database."""
    found: list[_Due] = []
    later: list[datetime] = []
    where = f"{case.reference} — {case.title}"
    for deadline in pending_deadlines(case):
        label, due = deadline.label, deadline.due
        base = {"deadline": deadline.kind, "due": iso_utc(due)}
        if deadline.overdue(at):
            found.append(
                _Due(
                    deadline.kind, due, DeadlineStep.MISSED, 0, EventKind.DEADLINE_MISSED,
                    base, due, f"Deadline missed: {label}",
                    f"The {label.lower()} deadline of {where} passed on {_local(case, due)}.",
                )
            )  # fmt: skip
            continue
        later.append(due)
        inside = [o for o in offsets if at >= due - timedelta(days=o)]
        later.extend(due - timedelta(days=o) for o in offsets if due - timedelta(days=o) > at)
        if inside:
            days = min(inside)
            unit = "day" if days == 1 else "days"
            found.append(
                _Due(
                    deadline.kind, due, DeadlineStep.REMINDER, days,
                    EventKind.DEADLINE_REMINDER, {**base, "days_before": days}, None,
                    f"Deadline in {days} {unit}: {label}",
                    f"The {label.lower()} deadline of {where} falls due on "
                    f"{_local(case, due)}.",
                )
            )  # fmt: skip
    dates = case_due_dates(case)
    if dates is not None and case.vendor_acknowledged_at is None:
        if is_unresponsive(case, at):
            found.append(_unresponsive(case, dates.acknowledge, where))
        else:
            later.append(dates.acknowledge)
    return [d for d in found if d.key not in done], min(later, default=None)


def _unresponsive(case: Case, acknowledge_due: datetime, where: str) -> _Due:
    terms = case_terms(case)
    escalation = suggest_escalation(case)
    unit = "business days" if terms["business_days"] else "days"
    payload = {
        "deadline": "acknowledge",
        "due": iso_utc(acknowledge_due),
        "notified_at": iso_utc(case.vendor_notified_at),
        "silence": f"{terms['days_to_acknowledge']} {unit}",
        "suggested_escalation": escalation,
    }
    return _Due(
        "acknowledge", acknowledge_due, DeadlineStep.UNRESPONSIVE, 0,
        EventKind.VENDOR_UNRESPONSIVE, payload, acknowledge_due,
        f"Vendor unresponsive — escalate to {escalation['label']}?",
        f"{case.vendor.name} has not acknowledged {where} within {payload['silence']} of "
        f"the notice (due {_local(case, acknowledge_due)}).\n\nSuggested escalation: "
        f"{escalation['label']}. {escalation['reason']}",
    )  # fmt: skip


def candidates(at: datetime, offsets: tuple[int, ...]):
    """The open cases the pass must look at, as a queryset of ids in id
    order: a deadline within the largest reminder offset (the stored next
    deadline, an index range scan), and no watch row that still holds."""
    horizon = at + timedelta(days=max(offsets, default=0))
    settled = DeadlineWatch.objects.filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__gt=at),
        case_id=OuterRef("pk"),
        ledger_seq=OuterRef("ledger_seq"),
        offsets=_offsets_key(offsets),
    )
    return (
        Case.objects.filter(_OPEN, next_due_at__lte=horizon)
        .filter(~Exists(settled))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _offsets_key(offsets: tuple[int, ...]) -> str:
    return ",".join(str(o) for o in offsets)


def run_deadline_pass(at: datetime | None = None, *, chunk: int = CHUNK) -> DeadlinePassResult:
    """Evaluate every open case at ``at`` (now by default) and record what
    fell due: each reminder, missed deadline and unresponsive vendor once
    per case and due date, with its ledger event, notices and mail. Safe to
    run twice at once and to re-run (nothing is recorded twice). Returns the
    counts."""
    at = at or now()
    offsets = reminder_offsets()
    result = DeadlinePassResult()
    ids = list(candidates(at, offsets))
    for start in range(0, len(ids), chunk):
        _run_chunk(ids[start : start + chunk], at, offsets, result)
    if result.mismatched:
        logger.error(
            "deadline pass: %s case(s) left alone, their record differs from their ledger "
            "(run verify_ledger)",
            result.mismatched,
        )
    return result


def _run_chunk(ids: list[int], at: datetime, offsets: tuple, result: DeadlinePassResult) -> None:
    with transaction.atomic():
        locked = bulk.lock_cases(ids, where=_OPEN, related=("policy", "vendor"))
        result.mismatched += len(locked.mismatched)
        cases = locked.cases
        result.considered += len(cases)
        done: dict[int, set] = {c.pk: set() for c in cases}
        marks = DeadlineMark.objects.filter(case_id__in=[c.pk for c in cases]).values_list(
            "case_id", "deadline", "due", "step", "days_before"
        )
        for case_id, deadline, due, step, days_before in marks:
            done[case_id].add((deadline, due, step, days_before))
        todo: list[tuple[Case, _Due]] = []
        next_checks: dict[int, datetime | None] = {}
        for case in cases:
            found, next_checks[case.pk] = evaluate(case, at, offsets, done[case.pk])
            todo.extend((case, d) for d in found)
        events = bulk.append_many(
            [
                bulk.NewEvent(case=c, kind=d.kind, payload=d.payload, internal=True,
                              occurred_at=d.occurred_at)
                for c, d in todo
            ]
        )  # fmt: skip
        created = now()
        DeadlineMark.objects.bulk_create(
            [
                DeadlineMark(
                    case=c, deadline=d.deadline, due=d.due, step=d.step,
                    days_before=d.days_before, event_seq=e.seq, created_at=created,
                )
                for (c, d), e in zip(todo, events, strict=True)
            ],
            batch_size=2000,
        )  # fmt: skip
        DeadlineWatch.objects.bulk_create(
            [
                DeadlineWatch(
                    case=c, ledger_seq=c.ledger_seq, next_check_at=next_checks[c.pk],
                    offsets=_offsets_key(offsets),
                )
                for c in cases
            ],
            update_conflicts=True,
            unique_fields=["case"],
            update_fields=["ledger_seq", "next_check_at", "offsets"],
            batch_size=2000,
        )  # fmt: skip
        notify.tell(notify.Item(case=c, subject=d.subject, body=d.body) for c, d in todo)
        for _c, d in todo:
            if d.step == DeadlineStep.REMINDER:
                result.reminders += 1
            elif d.step == DeadlineStep.MISSED:
                result.missed += 1
            else:
                result.unresponsive += 1
