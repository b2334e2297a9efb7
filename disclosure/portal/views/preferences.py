"""A contact's mail settings: a mail per notice or a daily digest."""

from django.http import HttpRequest, HttpResponse

from disclosure.comms.settings_page import mail_settings_page

from ..decorators import contact_required


@contact_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    """GET: the choice; POST: save it."""
    return mail_settings_page(
        request,
        question="How do you want to hear of what the research firm shares with you?",
        template="portal/mail_settings.html",
        saved_url="portal:mail_settings",
    )
