"""Password reset by mail and password change (issue 20).

A reset link carries Django's token generator's token (it stops working
once the password changes, once used, or after ``PASSWORD_RESET_TIMEOUT``)
and goes out through the outbox with the invitation's secret purpose: the
stored mail is erased once sent, so the database keeps no usable link.
Whoever asks is told the same whether or not the address is known.
A changed or reset password ends the user's other sessions.
"""

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from disclosure.comms import outbox
from disclosure.comms.models import OutboxPurpose
from disclosure.core.validation import clean_text, validated

from . import audit, sessions
from .models import AccessEvent, User

Kind = AccessEvent.Kind


def reset_link_path(user: User, link_template: str) -> str:
    """``link_template`` with ``{uid}`` and ``{token}`` filled for ``user``."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return link_template.replace("{uid}", uid).replace("{token}", token)


@transaction.atomic
@validated
def request_reset(*, email: str, link_template: str, interface: str = "") -> int:
    """Mail a reset link to every active account whose e-mail address is
    ``email`` (case-insensitively) and that has a usable password; returns
    how many (the caller tells the asker the same either way). The link is
    ``link_template`` (absolute, with ``{uid}`` and ``{token}``). Audited as
    ``password_reset_asked`` with the address asked for."""
    email = clean_text(email, field="email").strip()
    users = [
        user
        for user in User.objects.filter(email__iexact=email, is_active=True).order_by("pk")
        if user.has_usable_password()
    ] if email else []  # fmt: skip
    for user in users:
        link = reset_link_path(user, link_template)
        message = EmailMessage(
            subject=f"Reset your {settings.DISCLOSURE_FIRM_NAME} password",
            body=(
                f"Someone (we hope you) asked to reset the password of {user.get_username()}.\n\n"
                f"Open this link to choose a new one (it works once, for "
                f"{settings.PASSWORD_RESET_TIMEOUT // 60} minutes):\n\n{link}\n\n"
                "If you did not ask, ignore this message: your password stays as it is."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
        )
        outbox.enqueue(purpose=OutboxPurpose.INVITATION, message=message)
    audit.record(Kind.PASSWORD_RESET_ASKED, username=email, interface=interface,
                 accounts=len(users))  # fmt: skip
    return len(users)


def password_changed(
    *, user: User, keep_session: str | None, interface: str, by_reset: bool
) -> int:
    """After ``user``'s password changed (their own change, or a reset
    link): end their other registered sessions (the session hash already
    refuses every session made with the old password) and audit it.
    Returns how many sessions ended."""
    ended = sessions.end_all(user=user, keep=keep_session)
    audit.record(Kind.PASSWORD_RESET if by_reset else Kind.PASSWORD_CHANGED, user=user,
                 interface=interface, sessions_ended=ended)  # fmt: skip
    return ended
