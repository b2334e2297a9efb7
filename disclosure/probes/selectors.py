"""Reads of the re-probes, for staff only (``cases.access``)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from disclosure.cases import access, transitions
from disclosure.cases.models import Case
from disclosure.core.timeutils import now

from .models import ProbeResult, ProbeSchedule, Verdict
from .runs import is_eligible
from .services import CHANGE_ACTION, default_interval
from .targets import case_probe_url


@dataclass(frozen=True)
class ProbePanel:
    """What the case page shows of ``case``'s re-probes."""

    case: Case
    schedule: ProbeSchedule | None
    url: str | None
    active: bool  # inside the re-probe window (found .. secured + N days)
    last: ProbeResult | None
    can_change: bool
    secured_offer: ProbeResult | None  # the first 'no longer public' capture, to record 'secured'
    alarm: ProbeResult | None  # the re-exposure alarm's result
    can_follow_up: bool

    @property
    def interval_hours(self) -> int:
        return self.schedule.interval_hours if self.schedule else default_interval()


def results_for(user, case: Case) -> QuerySet[ProbeResult] | None:
    """``case``'s probe results, newest first, with their captures, or None
    when ``user`` may not read them (not staff)."""
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        return None
    return ProbeResult.objects.filter(case=case).select_related("evidence")


def probe_panel(user, case: Case) -> ProbePanel | None:
    """The panel for ``user`` (staff; None for anyone else), in one query
    (the schedule with its last, status-setting and alarm results)."""
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        return None
    schedule = (
        ProbeSchedule.objects.filter(case=case)
        .select_related(
            "last_result__evidence",
            "status_result__evidence",
            "reexposure_result__evidence",
            "follow_up",
        )
        .first()
    )
    offer = None
    if (
        schedule is not None
        and case.secured_at is None
        and schedule.status == Verdict.NOT_PUBLIC
        and schedule.status_result is not None
        and schedule.status_result.evidence is not None
        and access.can(user, "secure", case)
        and transitions.refusal("secure", case) is None
    ):
        offer = schedule.status_result
    alarm = schedule.reexposure_result if schedule is not None else None
    return ProbePanel(
        case=case,
        schedule=schedule,
        url=case_probe_url(case, schedule.url if schedule else ""),
        active=is_eligible(case, now()),
        last=schedule.last_result if schedule is not None else None,
        can_change=access.can(user, CHANGE_ACTION, case),
        secured_offer=offer,
        alarm=alarm,
        can_follow_up=alarm is not None and access.can(user, "open_follow_up", case),
    )
