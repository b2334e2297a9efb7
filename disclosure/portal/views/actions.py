"""The vendor's actions on a case: one form per action, each calling one
service (and so writing the ledger). The action must be in
``access.available_actions(contact, case)``: else 403, and 404 for a case
the contact may not see. Domain errors become form errors and change
nothing."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.cases import access, transitions, vendor_view
from disclosure.core.errors import DomainError, NotFound, NotPermitted

from ..catalog import ACTIONS
from ..decorators import contact_required
from .cases import contact_case_or_404


@contact_required
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    case = contact_case_or_404(request, reference)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("No such action.")
    if transitions.get(action) not in access.available_actions(request.user, case):
        raise PermissionDenied(f"'{spec.label}' is not open to you on {case.reference} now.")
    if request.method == "POST":
        form = spec.form(request.POST, request.FILES, case=case, user=request.user)
        if form.is_valid():
            try:
                spec.service(actor=request.user, case=case, **form.service_kwargs())
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(request, spec.done)
                return redirect("portal:case_detail", reference=case.reference)
        status = 400
    else:
        form = spec.form(case=case, user=request.user)
        status = 200
    context = {"case": case, "form": form, "action": action, "spec": spec, "nav": "cases"}
    if action == "countersign_attestation":  # show what is countersigned
        context["attestation"] = vendor_view.attestation(case)
    return render(request, "portal/case/action.html", context, status=status)
