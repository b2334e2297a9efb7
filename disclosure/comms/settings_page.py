"""The mail-settings page both the staff UI and the portal show: a mail per
notice or a daily digest (comms.preferences.set_mail_delivery)."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from disclosure.accounts.models import User
from disclosure.core.errors import DomainError

from . import preferences


class MailSettingsForm(forms.Form):
    mail_delivery = forms.ChoiceField(
        choices=User.MailDelivery.choices,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, question: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["mail_delivery"].label = question


def mail_settings_page(
    request: HttpRequest, *, question: str, template: str, saved_url: str
) -> HttpResponse:
    """GET: the signed-in person's choice; POST: save it and go to
    ``saved_url``, or show the form again with the error (400)."""
    form = MailSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"mail_delivery": request.user.mail_delivery},
        question=question,
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
            return redirect(saved_url)
    return render(
        request,
        template,
        {"form": form, "nav": "mail_settings"},
        status=400 if request.method == "POST" else 200,
    )
