"""The daily digest: one mail a day to each person who chose it
(``User.mail_delivery`` = digest), listing their pending notices, each with
its link; the notices are then marked with the digest that carried them.

``send_digests`` is run by beat (``disclosure.comms.tasks.send_digests``)
and by ``manage.py send_digests``. It is idempotent and safe to run twice at
once: a person's digest of a day has a fixed Message-ID, written to the
outbox at most once; each person is handled in their own transaction under
a lock on their row (another run skips them), and only notices not yet in a
digest are taken.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction

from disclosure.accounts.models import User
from disclosure.core.timeutils import now as current_time

from . import outbox
from .models import Notice, OutboxMessage, OutboxPurpose

logger = logging.getLogger(__name__)

# Most notices listed in one digest; the rest wait for the next day's.
MAX_NOTICES = 500


def digest_message_id(user: User, day: datetime) -> str:
    """The Message-ID of ``user``'s digest of ``day`` (UTC date): one a day."""
    date = day.astimezone(UTC) if day.tzinfo else day
    return f"<digest.{user.pk}.{date:%Y%m%d}@{settings.DISCLOSURE_MAIL_DOMAIN}>"


def pending(user: User):
    """``user``'s notices waiting for a digest, oldest first."""
    return Notice.objects.filter(user=user, immediate=False, digest=None).order_by(
        "created_at", "id"
    )


def digest_text(user: User, notices: list[Notice]) -> str:
    """The body of a digest: each notice's subject, what it says and its link."""
    lines = [
        f"Hello {user.display_name()},",
        "",
        f"{len(notices)} thing(s) happened on your cases since your last digest:",
        "",
    ]
    for n, notice in enumerate(notices, 1):
        lines += [
            f"{n}. {notice.subject} ({notice.created_at:%Y-%m-%d %H:%M} UTC)",
            *(f"   {line}" if line else "" for line in notice.body.splitlines()),
            f"   {notice.link}",
            "",
        ]
    lines.append("You get one mail a day because you chose a daily digest in your mail settings.")
    return "\n".join(lines) + "\n"


def _send_one(user_id: int, day: datetime) -> bool:
    """Write ``user_id``'s digest of ``day`` to the outbox and mark its
    notices, in one transaction; False when there was nothing to send, it
    was sent already today, or another run holds this person."""
    with transaction.atomic():
        user = (
            User.objects.select_for_update(skip_locked=True)
            .filter(pk=user_id, is_active=True)
            .exclude(email="")
            .first()
        )
        if user is None:
            return False
        message_id = digest_message_id(user, day)
        if OutboxMessage.objects.filter(message_id=message_id).exists():
            return False  # today's digest left already; the rest waits for tomorrow
        notices = list(pending(user).select_for_update()[:MAX_NOTICES])
        if not notices:
            return False
        message = EmailMessage(
            subject=f"Your daily digest: {len(notices)} notice(s)",
            body=digest_text(user, notices),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[user.email],
            headers={"Message-ID": message_id, "Auto-Submitted": "auto-generated"},
        )
        row = outbox.enqueue(purpose=OutboxPurpose.DIGEST, message=message)
        Notice.objects.filter(pk__in=[n.pk for n in notices]).update(digest=row)
        return True


def send_digests(now: datetime | None = None) -> int:
    """Send today's digest to everyone with notices waiting for one; the
    number of digests written to the outbox. A second run on the same day
    sends nothing new (what arrived since waits for the next day), and two
    runs at once never put a notice in two digests."""
    day = now or current_time()
    user_ids = (
        Notice.objects.filter(immediate=False, digest=None)
        .values_list("user_id", flat=True)
        .distinct()
        .order_by("user_id")
    )
    sent = sum(_send_one(user_id, day) for user_id in list(user_ids))
    if sent:
        logger.info("digests: %d written to the outbox", sent)
    return sent
