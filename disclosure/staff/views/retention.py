"""Leads and admins set how long a case's evidence content is kept after
closing (evidence.retention.set_retention): the page linked from the case
page's "Evidence retention" panel."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.cases import selectors
from disclosure.core.errors import DomainError, NotFound, NotPermitted
from disclosure.evidence import retention

from ..decorators import staff_required
from ..forms.base import CaseForm


class RetentionForm(CaseForm):
    days = forms.IntegerField(
        label="Days kept after closing",
        required=False,
        min_value=0,
        max_value=retention.MAX_RETENTION_DAYS,
        help_text="Leave empty for the deployment's default.",
    )
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Recorded in the ledger.",
    )


@staff_required
def set_retention(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the form; POST: change the case's retention period. 404 for a
    case the user may not see, 403 for staff who may not change it."""
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    if not retention.may_set_retention(request.user, case):
        raise PermissionDenied(
            f"Only a lead or an admin may change the retention period of {case.reference}."
        )
    status = 200
    if request.method == "POST":
        form = RetentionForm(request.POST, case=case, user=request.user)
        if form.is_valid():
            try:
                case = retention.set_retention(
                    actor=request.user,
                    case=case,
                    days=form.cleaned_data["days"],
                    reason=form.cleaned_data["reason"],
                )
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                days = retention.retention_days(case)
                messages.success(
                    request,
                    f"The evidence of {case.reference} is now kept {days} days after closing.",
                )
                return redirect(case.get_absolute_url() + "#retention")
        status = 400
    else:
        form = RetentionForm(case=case, user=request.user, initial={"days": case.retention_days})
    context = {
        "case": case,
        "form": form,
        "default_days": settings.DISCLOSURE_RETENTION_DAYS,
        "current_days": retention.retention_days(case),
    }
    return render(request, "staff/case/retention.html", context, status=status)
