"""Mail settings and watching cases, in the staff UI (comms.preferences):
each person chooses a mail per notice or a daily digest; staff watch the
cases they want to hear of when the case has no assignee."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from disclosure.cases import selectors
from disclosure.comms import preferences
from disclosure.comms.settings_page import mail_settings_page
from disclosure.core.errors import DomainError, NotFound

from ..decorators import staff_required


@staff_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    """GET: the choice; POST: save it (set_mail_delivery)."""
    return mail_settings_page(
        request,
        question="How do you want to hear of what happens on your cases?",
        template="staff/settings/mail.html",
        saved_url="staff:mail_settings",
    )


@require_POST
@staff_required
def case_watch(request: HttpRequest, reference: str) -> HttpResponse:
    """Start (``watching=1``) or stop watching the case; back to its page."""
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    watching = request.POST.get("watching") == "1"
    try:
        preferences.watch_case(actor=request.user, case=case, watching=watching)
    except NotFound:
        raise Http404("No such case.") from None
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            f"You watch {case.reference} now."
            if watching
            else f"You stopped watching {case.reference}.",
        )
    return redirect("staff:case_detail", reference=case.reference)
