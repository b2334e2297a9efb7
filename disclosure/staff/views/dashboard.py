"""The dashboard: the staff UI's home."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from disclosure.cases import selectors

from ..decorators import staff_required


@staff_required
def dashboard(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/dashboard.html",
        {
            "per_stage": selectors.cases_per_stage(request.user),
            "my_cases": selectors.case_list(request.user).filter(assignee=request.user)[:20],
        },
    )
