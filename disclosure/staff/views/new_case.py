"""Opening a case (stage found) with its exposure evidence."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.cases import access, services
from disclosure.core.errors import DomainError, NotPermitted

from ..decorators import staff_required
from ..forms.details import NewCaseForm


@staff_required
def case_new(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST: ``services.open_case``, then the new case's page.
    Staff who may not open cases (legal) get 403."""
    if not access.can(request.user, access.Action.OPEN_CASE):
        raise PermissionDenied("You are not allowed to open cases.")
    status = 200
    if request.method == "POST":
        form = NewCaseForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                case = services.open_case(actor=request.user, **form.service_kwargs())
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(request, f"Case {case.reference} opened.")
                return redirect(case.get_absolute_url())
        status = 400
    else:
        form = NewCaseForm()
    return render(
        request, "staff/actions/case_new.html", {"form": form, "nav": "case_new"}, status=status
    )
