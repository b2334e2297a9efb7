"""The dashboard: the staff UI's home."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from disclosure.cases import selectors
from disclosure.cases.stage_times import stage_times
from disclosure.core.timeutils import now
from disclosure.evidence import selectors as evidence_selectors

from .. import selectors as staff_selectors
from ..decorators import staff_required


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    at = now()
    times = stage_times(request.user)
    return render(
        request,
        "staff/dashboard.html",
        {
            "nav": "dashboard",
            "now": at,
            "per_stage": selectors.cases_per_stage(request.user),
            "my_cases": selectors.case_list(request.user).filter(assignee=request.user)[:20],
            "board": staff_selectors.deadline_board(request.user, at),
            "activity": staff_selectors.recent_activity(request.user),
            "stage_times": times,
            "chart": staff_selectors.chart_data(times),
            "integrity_alarms": list(evidence_selectors.open_alarms(request.user)[:20]),
        },
    )
