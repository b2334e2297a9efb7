"""Celery tasks of the accounts app (thin wrappers)."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from .invitations import max_age
from .models import Invitation


@shared_task(name="disclosure.accounts.tasks.send_invitation_mail")
def send_invitation_mail(invitation_id: int, link: str) -> bool:
    """Mail the invitation's link to the invitee; False when the invitation
    was replaced or used before the mail left (its link no longer works)."""
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(pk=invitation_id, accepted_at=None, revoked_at=None)
        .first()
    )
    if invitation is None:
        return False
    days = max_age().days
    send_mail(
        subject=f"Your invitation to the {settings.DISCLOSURE_FIRM_NAME} vendor portal",
        message=(
            f"{invitation.invited_by.display_name()} of {settings.DISCLOSURE_FIRM_NAME} invites "
            f"you to the vendor portal as a contact of {invitation.organization.name}.\n\n"
            f"Open this link to choose your password and sign in (it works once, for "
            f"{days} day(s)):\n\n{link}\n\n"
            "If you did not expect this message, ignore it."
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )
    return True
