"""The case's actions: one page per action of the transitions table, each a
form that calls one service. GET shows the form, POST runs it.

The action must be in ``access.available_actions(user, case)`` (else 403;
a case the user may not see is 404). Domain errors become form errors and
change nothing; success shows a message and returns to the case page.
Irreversible actions are confirmed first: close and publish on a confirm
page that re-posts the same data, record deletion (which uploads files that
a confirm page could not carry) with a required "I confirm" box.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.cases import access, selectors, services, transitions
from disclosure.core.errors import DomainError, NotFound, NotPermitted

from ..decorators import staff_required
from ..forms import details, disputes, records, stages
from ..forms.base import CaseForm


@dataclass(frozen=True)
class ActionView:
    form: type[CaseForm]
    service: Callable[..., Any]
    done: Callable[[Any], str]  # the success message, from the service's result


ACTIONS: dict[str, ActionView] = {
    "notify_vendor": ActionView(
        stages.NotifyVendorForm, services.notify_vendor, lambda c: "Vendor notification recorded."
    ),
    "acknowledge": ActionView(
        stages.AcknowledgeForm, services.acknowledge, lambda c: "Acknowledgement recorded."
    ),
    "secure": ActionView(
        stages.SecureForm, services.secure, lambda c: "The asset is recorded as secured."
    ),
    "record_deletion": ActionView(
        stages.RecordDeletionForm,
        services.record_deletion,
        lambda c: "Deletion recorded with its attestation.",
    ),
    "publish": ActionView(stages.PublishForm, services.publish, lambda c: "Publication recorded."),
    "close": ActionView(stages.CloseForm, services.close_case, lambda c: "Case closed."),
    "log_communication": ActionView(
        records.LogCommunicationForm,
        services.log_communication,
        lambda comm: f"Communication logged ({comm.attachments.count()} attachment(s)).",
    ),
    "attach_evidence": ActionView(
        records.AttachEvidenceForm,
        services.attach_evidence,
        lambda f: f"Evidence attached: {f.original_name} (SHA-256 {f.sha256}).",
    ),
    "file_dispute": ActionView(
        records.FileDisputeForm, services.file_dispute, lambda d: "Dispute filed."
    ),
    "answer_dispute": ActionView(
        disputes.AnswerDisputeForm,
        services.answer_dispute,
        lambda d: f"Answer to the dispute {d.subject!r} recorded; the vendor sees it.",
    ),
    "settle_dispute": ActionView(
        disputes.SettleDisputeForm,
        services.settle_dispute,
        lambda d: f"Dispute {d.subject!r} settled: {d.get_status_display().lower()}.",
    ),
    "correct_event": ActionView(
        records.CorrectEventForm,
        services.correct_event,
        lambda e: f"Correction recorded as event #{e.seq}.",
    ),
    "set_legal_hold": ActionView(
        records.SetLegalHoldForm,
        services.set_legal_hold,
        lambda c: "Legal hold placed." if c.legal_hold else "Legal hold lifted.",
    ),
    "escalate": ActionView(
        records.EscalateForm, services.escalate, lambda e: f"Escalated to {e.organization}."
    ),
    "update_details": ActionView(
        details.UpdateDetailsForm, services.update_details, lambda c: "Details saved."
    ),
    "open_follow_up": ActionView(
        records.OpenFollowUpForm,
        services.open_follow_up,
        lambda c: f"Follow-up case {c.reference} opened.",
    ),
}
assert set(ACTIONS) <= set(transitions.TRANSITIONS)


def _confirm_data(request: HttpRequest) -> list[tuple[str, str]]:
    """The posted fields to re-post from the confirm page."""
    return [
        (key, value)
        for key in request.POST
        if key not in ("csrfmiddlewaretoken", "confirm")
        for value in request.POST.getlist(key)
    ]


@staff_required
def case_action(request: HttpRequest, reference: str, action: str) -> HttpResponse:
    case = selectors.case_by_reference(request.user, reference)
    spec = ACTIONS.get(action)
    if case is None or spec is None:
        raise Http404("No such case or action.")
    transition = transitions.get(action)
    if transition not in access.available_actions(request.user, case):
        raise PermissionDenied(f"{transition.label} is not available on {case.reference} to you.")
    form_class = spec.form
    confirm_page = getattr(form_class, "confirm_page", False)
    if request.method == "POST":
        form = form_class(request.POST, request.FILES, case=case, user=request.user)
        if form.is_valid():
            if confirm_page and request.POST.get("confirm") != "1":
                return render(
                    request,
                    "staff/actions/confirm.html",
                    {
                        "case": case,
                        "transition": transition,
                        "form": form,
                        "repost": _confirm_data(request),
                    },
                )
            try:
                result = spec.service(actor=request.user, case=case, **form.service_kwargs())
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(request, spec.done(result))
                return redirect(case.get_absolute_url())
        status = 400
    else:
        form = form_class(case=case, user=request.user)
        status = 200
    return render(
        request,
        "staff/actions/action.html",
        {"case": case, "transition": transition, "form": form, "action": action},
        status=status,
    )
