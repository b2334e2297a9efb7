"""Reads of the re-probes, for staff only (``cases.access``)."""

from __future__ import annotations

from dataclasses import dataclass

from disclosure.cases import access
from disclosure.cases.models import Case
from disclosure.core.timeutils import now

from .models import ProbeResult, ProbeSchedule, Verdict
from .runs import eligible_cases
from .services import CHANGE_ACTION, default_interval
from .targets import case_probe_url

RECENT = 10


@dataclass(frozen=True)
class ProbePanel:
    """What the case page shows of ``case``'s re-probes."""

    case: Case
    schedule: ProbeSchedule | None
    url: str | None
    active: bool  # inside the re-probe window (found .. secured + N days)
    recent: list[ProbeResult]
    can_change: bool
    secured_offer: ProbeResult | None  # a 'no longer public' capture to record 'secured' with
    alarm: ProbeResult | None  # the re-exposure alarm's result
    can_follow_up: bool

    @property
    def interval_hours(self) -> int:
        return self.schedule.interval_hours if self.schedule else default_interval()


def results_for(user, case: Case) -> list[ProbeResult] | None:
    """``case``'s probe results, newest first, or None when ``user`` may not
    read them (not staff)."""
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        return None
    return ProbeResult.objects.filter(case=case).select_related("evidence")


def probe_panel(user, case: Case) -> ProbePanel | None:
    """The panel for ``user`` (staff; None for anyone else), in at most four
    queries."""
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        return None
    schedule = (
        ProbeSchedule.objects.filter(case=case)
        .select_related("reexposure_result__evidence", "follow_up")
        .first()
    )
    recent = list(ProbeResult.objects.filter(case=case).select_related("evidence")[:RECENT])
    can_change = access.can(user, CHANGE_ACTION, case)
    offer = None
    if case.secured_at is None and schedule is not None and schedule.status == Verdict.NOT_PUBLIC:
        offer = next((r for r in recent if r.verdict == Verdict.NOT_PUBLIC and r.evidence), None)
    if offer is not None and not any(
        t.action == "secure" for t in access.available_actions(user, case)
    ):
        offer = None
    alarm = schedule.reexposure_result if schedule is not None else None
    active = Case.objects.filter(eligible_cases(now()), pk=case.pk).exists()
    return ProbePanel(
        case=case,
        schedule=schedule,
        url=case_probe_url(case, schedule.url if schedule else ""),
        active=active,
        recent=recent,
        can_change=can_change,
        secured_offer=offer,
        alarm=alarm,
        can_follow_up=alarm is not None and access.can(user, "open_follow_up", case),
    )
