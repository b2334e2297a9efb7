"""A contact's mail settings: a mail per notice or a daily digest
(comms.preferences.set_mail_delivery)."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.accounts.models import User
from disclosure.comms import preferences
from disclosure.core.errors import DomainError

from ..decorators import contact_required


class MailSettingsForm(forms.Form):
    mail_delivery = forms.ChoiceField(
        label="How do you want to hear of what the research firm shares with you?",
        choices=User.MailDelivery.choices,
        widget=forms.RadioSelect,
    )


@contact_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    """GET: the choice; POST: save it."""
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
            return redirect("portal:mail_settings")
    return render(
        request,
        "portal/mail_settings.html",
        {"form": form, "nav": "mail_settings"},
        status=400 if request.method == "POST" else 200,
    )
