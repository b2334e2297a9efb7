"""Staff confirm a vendor's own "secured" with a re-test
(cases.services.confirm_secured): the page linked from the stage bar while
the case shows "Secured — claimed by the vendor, not re-tested"."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.cases import access, selectors, services
from disclosure.core.errors import DomainError, NotFound, NotPermitted
from disclosure.evidence.models import EvidenceKind

from ..decorators import staff_required
from ..forms.base import CaseForm, LocalDateTimeField, MultipleFileField, incoming


class ConfirmSecuredForm(CaseForm):
    field_aliases = {"file": "evidence"}

    occurred_at = LocalDateTimeField(label="Re-tested at")
    retest_result = forms.CharField(
        label="Re-test result",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What the re-test shows, e.g. '403 on anonymous listing'.",
    )
    evidence = MultipleFileField(label="Re-test evidence", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now_initial("occurred_at")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "occurred_at": d["occurred_at"],
            "retest_result": d["retest_result"],
            "evidence": incoming(d["evidence"], EvidenceKind.RETEST_RESULT),
        }


@staff_required
def confirm_secured(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the form; POST: record the re-test confirming the vendor's claim."""
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    if not access.can(request.user, "correct_event", case):
        raise PermissionDenied(f"You may not confirm the asset of {case.reference} as secured.")
    status = 200
    if request.method == "POST":
        form = ConfirmSecuredForm(request.POST, request.FILES, case=case, user=request.user)
        if form.is_valid():
            try:
                event = services.confirm_secured(
                    actor=request.user, case=case, **form.service_kwargs()
                )
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(
                    request,
                    f"The vendor's 'secured' is confirmed by a re-test (event #{event.seq}).",
                )
                return redirect(case.get_absolute_url())
        status = 400
    else:
        form = ConfirmSecuredForm(case=case, user=request.user)
    return render(
        request, "staff/case/confirm_secured.html", {"case": case, "form": form}, status=status
    )
