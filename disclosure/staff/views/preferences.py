"""Mail settings and watching cases, in the staff UI (comms.preferences):
each person chooses a mail per notice or a daily digest; staff watch the
cases they want to hear of when the case has no assignee."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from disclosure.accounts.models import User
from disclosure.cases import selectors
from disclosure.comms import preferences
from disclosure.core.errors import DomainError, NotFound

from ..decorators import staff_required


class MailSettingsForm(forms.Form):
    mail_delivery = forms.ChoiceField(
        label="How do you want to hear of what happens on your cases?",
        choices=User.MailDelivery.choices,
        widget=forms.RadioSelect,
    )


@staff_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    """GET: the choice; POST: save it (set_mail_delivery)."""
    form = MailSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"mail_delivery": request.user.mail_delivery},
    )
    if request.method == "POST" and form.is_valid():
        try:
            preferences.set_mail_delivery(
                actor=request.user, choice=form.cleaned_data["mail_delivery"]
            )
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, "Mail settings saved.")
            return redirect("staff:mail_settings")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "staff/settings/mail.html",
        {"form": form, "nav": "mail_settings"},
        status=status,
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
