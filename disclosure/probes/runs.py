"""The probe runs: which cases are due, fetching them (in threads: network
only), and recording each result (services.record_outcome, one
transaction per case). Called by the beat task, ``manage.py run_probes`` and
staff's "Probe now".

A case is re-probed from ``found`` until it is secured, and for
``DISCLOSURE_PROBE_AFTER_SECURED_DAYS`` after; a case closed without being
secured is not. Two runs at once do not probe a case twice: a run claims
its due schedules (``select_for_update(skip_locked=True)``, moving their
next run a lease ahead) before it fetches.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.core.errors import DomainError
from disclosure.core.timeutils import now
from disclosure.core.validation import validated

from .fetch import Outcome, probe
from .models import ProbeResult, ProbeSchedule, Verdict
from .services import CHANGE_ACTION, default_interval, probe_account, record_outcome
from .targets import case_probe_url

log = logging.getLogger(__name__)

# How long a claimed schedule stays claimed if its run dies before recording.
LEASE = timedelta(minutes=15)


@dataclass
class RunReport:
    probed: int = 0
    public: int = 0
    not_public: int = 0
    errors: int = 0
    skipped: list[str] = field(default_factory=list)  # references whose recording failed


def eligible_cases(at: datetime) -> Q:
    """The cases re-probed at ``at`` (a condition on Case)."""
    since = at - timedelta(days=settings.DISCLOSURE_PROBE_AFTER_SECURED_DAYS)
    return Q(secured_at__isnull=True, closed_at__isnull=True) | Q(secured_at__gte=since)


def is_eligible(case: Case, at: datetime) -> bool:
    """``eligible_cases`` for one loaded case, without a query."""
    if case.secured_at is None:
        return case.closed_at is None
    return case.secured_at >= at - timedelta(days=settings.DISCLOSURE_PROBE_AFTER_SECURED_DAYS)


def ensure_schedules(at: datetime, case_ids: Collection[int] | None = None) -> int:
    """Give every eligible case (of ``case_ids`` when given) without a
    schedule one (defaults, due at ``at``); returns how many were created."""
    cases = Case.objects.all() if case_ids is None else Case.objects.filter(pk__in=case_ids)
    missing = list(
        cases.filter(eligible_cases(at), probe_schedule__isnull=True)
        .exclude(stage=Stage.CLOSED, secured_at__isnull=True)
        .values_list("pk", flat=True)
    )
    ProbeSchedule.objects.bulk_create(
        [
            ProbeSchedule(case_id=pk, interval_hours=default_interval(), next_run_at=at)
            for pk in missing
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return len(missing)


def claim_due(
    at: datetime, limit: int | None = None, case_ids: Collection[int] | None = None
) -> list[ProbeSchedule]:
    """Claim the schedules due at ``at`` (not paused, case eligible, of
    ``case_ids`` when given), oldest first, by moving their next run a lease
    ahead; two runs claim disjoint sets."""
    schedules = ProbeSchedule.objects.all()
    if case_ids is not None:
        schedules = schedules.filter(case_id__in=case_ids)
    with transaction.atomic():
        due = (
            schedules.select_for_update(skip_locked=True, of=("self",))
            .filter(paused=False, next_run_at__lte=at)
            .filter(Q(case__in=Case.objects.filter(eligible_cases(at))))
            .select_related("case")
            .order_by("next_run_at", "pk")
        )
        claimed = list(due[:limit] if limit else due)
        ProbeSchedule.objects.filter(pk__in=[s.pk for s in claimed]).update(next_run_at=at + LEASE)
    return claimed


def _fetch(url: str | None) -> Outcome:
    if url is None:
        return Outcome(
            url="",
            probed_at=now(),
            verdict=Verdict.ERROR,
            error="No HTTP probe for this kind of asset: set a probe URL.",
        )
    return probe(url)


def fetch_all(urls: list[str | None]) -> list[Outcome]:
    """Probe each URL, ``DISCLOSURE_PROBE_CONCURRENCY`` at a time, in order."""
    workers = max(1, min(int(settings.DISCLOSURE_PROBE_CONCURRENCY), len(urls) or 1))
    if workers == 1:
        return [_fetch(u) for u in urls]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe") as pool:
        return list(pool.map(_fetch, urls))


def run_due_probes(
    at: datetime | None = None,
    limit: int | None = None,
    case_ids: Collection[int] | None = None,
) -> RunReport:
    """Probe every case due at ``at`` (now by default; only those of
    ``case_ids`` when given) and record each result; a case whose recording
    fails (its row differs from its ledger) is left for the next run and
    named in ``skipped``."""
    at = at or now()
    ensure_schedules(at, case_ids)
    schedules = claim_due(at, limit, case_ids)
    outcomes = fetch_all([case_probe_url(s.case, s.url) for s in schedules])
    report = RunReport()
    account = probe_account() if schedules else None
    for schedule, outcome in zip(schedules, outcomes, strict=True):
        try:
            record_outcome(case=schedule.case, outcome=outcome, system_account=account)
        except DomainError:
            log.exception("re-probe of %s not recorded", schedule.case.reference)
            report.skipped.append(schedule.case.reference)
            continue
        report.probed += 1
        if outcome.verdict == Verdict.PUBLIC:
            report.public += 1
        elif outcome.verdict == Verdict.NOT_PUBLIC:
            report.not_public += 1
        else:
            report.errors += 1
    return report


@validated
def probe_now(*, actor: User, case: Case) -> ProbeResult:
    """Probe ``case``'s asset now, at a staff member's request (those who
    change re-probes), and record the result like a scheduled one; the next
    scheduled probe is one interval later."""
    access.require(actor, CHANGE_ACTION, case)
    schedule = ProbeSchedule.objects.filter(case=case).first()
    url = case_probe_url(case, schedule.url if schedule else "")
    return record_outcome(case=case, outcome=_fetch(url), requested_by=actor)
