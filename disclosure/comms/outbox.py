"""The transactional outbox: every mail Disclosure sends goes through here.

A message is written (``enqueue``) in the transaction of the change it
belongs to, with the exact bytes to send and its Message-ID. Once that
transaction commits, a task is asked to deliver it; if the broker is down,
the periodic ``dispatch_outbox`` finds it. Delivery is idempotent by
Message-ID: a message marked sent is never handed to the server again.

A service never imports a task: it calls ``enqueue``, and this module (the
outbox's one dispatcher) knows the task.
"""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib
from collections.abc import Sequence
from datetime import timedelta
from email.utils import getaddresses, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.db import transaction
from django.db.models import Q

from disclosure.core.errors import DuplicateMessage, ValidationFailed
from disclosure.core.timeutils import now

from .models import Communication, OutboxMessage, OutboxPurpose, OutboxStatus

logger = logging.getLogger(__name__)


def new_message_id() -> str:
    """A fresh Message-ID, ``<...@DISCLOSURE_MAIL_DOMAIN>``."""
    return make_msgid(domain=settings.DISCLOSURE_MAIL_DOMAIN)


def render(message: EmailMessage) -> tuple[str, bytes]:
    """The Message-ID and the exact bytes of ``message`` as it will be sent
    (CRLF line ends). A Message-ID is set when the message has none."""
    message_id = message.extra_headers.get("Message-ID") or new_message_id()
    message.extra_headers["Message-ID"] = message_id
    raw = message.message().as_bytes(linesep="\r\n")
    return message_id, raw


def envelope_recipients(message: EmailMessage) -> list[str]:
    """The addresses the server is asked to deliver to (to, cc, bcc)."""
    return [addr for _, addr in getaddresses(message.recipients()) if addr]


def enqueue(
    *,
    purpose: str,
    message: EmailMessage,
    case=None,
    communication: Communication | None = None,
    raw: tuple[str, bytes] | None = None,
) -> OutboxMessage:
    """Write ``message`` to the outbox inside the caller's transaction.

    ``raw``: the (Message-ID, bytes) ``render`` returned, when the caller has
    kept those bytes as evidence; the outbox then sends exactly them.
    Guarantees: nothing is sent unless the transaction commits; a Message-ID
    is queued at most once (``DuplicateMessage``); delivery is asked for after
    commit, and the periodic dispatch finds the message if that request is
    lost.
    """
    if purpose not in OutboxPurpose.values:
        raise ValidationFailed(f"Unknown purpose {purpose!r}.", field="purpose")
    message_id, data = raw if raw is not None else render(message)
    recipients = envelope_recipients(message)
    if not recipients:
        raise ValidationFailed("Say to whom the message goes.", field="to")
    if OutboxMessage.objects.filter(message_id=message_id).exists():
        raise DuplicateMessage(f"The message {message_id} is queued already.", field="message_id")
    at = now()
    row = OutboxMessage.objects.create(
        message_id=message_id,
        purpose=purpose,
        case=case,
        communication=communication,
        from_email=message.from_email or settings.DEFAULT_FROM_EMAIL,
        recipients=recipients,
        subject=str(message.subject)[:500],
        raw=data,
        status=OutboxStatus.QUEUED,
        next_attempt_at=at,
        created_at=at,
    )
    request_delivery(row.pk)
    return row


def request_delivery(pk: int) -> None:
    """After commit, ask a worker to deliver outbox message ``pk``. A broker
    that is down is logged, not raised: the periodic dispatch delivers it."""
    from . import tasks  # the outbox's one dispatcher knows the tasks

    transaction.on_commit(lambda: tasks.deliver_outbox_message.delay(pk), robust=True)


def queued_for(case) -> Sequence[OutboxMessage]:
    """The outbox rows of ``case``, newest first (the case page's delivery column)."""
    return list(OutboxMessage.objects.filter(case=case).order_by("-created_at", "-id"))


# --- delivery ---------------------------------------------------------------

# What deliver() reports.
SENT = "sent"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"  # sent already, failed for good, not due, or another worker holds it


class RawEmailMessage(EmailMessage):
    """An outbox row as Django's mail backends take it: ``message()`` gives
    exactly the stored bytes; subject, sender, recipients and the plain-text
    body are read from them (for the console and in-memory backends)."""

    def __init__(self, row: OutboxMessage) -> None:
        parsed = email.message_from_bytes(bytes(row.raw), policy=email.policy.default)
        body = parsed.get_body(("plain",))
        super().__init__(
            subject=str(parsed.get("subject", "")),
            body=body.get_content() if body is not None else "",
            from_email=row.from_email,
            to=row.recipients,
            headers={"Message-ID": row.message_id},
        )
        self._raw = bytes(row.raw)

    def message(self):
        return _FixedBytes(self._raw)


class _FixedBytes:
    """The parts of ``email.message.Message`` the backends use."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n", policy=None) -> bytes:
        text = self._raw.replace(b"\r\n", b"\n")
        return text if linesep == "\n" else text.replace(b"\n", linesep.encode())

    def as_string(self, *args, **kwargs) -> str:
        return self.as_bytes().decode("utf-8", "replace")

    def get_charset(self):
        return None


def _retry_delay(attempts: int) -> timedelta:
    seconds = settings.DISCLOSURE_MAIL_RETRY_SECONDS * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, 3600))


def _claim(pk: int) -> OutboxMessage | None:
    """Mark outbox message ``pk`` as being sent by this worker, or None when
    it is not to be sent now (sent, failed, not due, or held by another)."""
    at = now()
    with transaction.atomic():
        row = OutboxMessage.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
        if row is None or row.status in (OutboxStatus.SENT, OutboxStatus.FAILED):
            return None
        if row.status == OutboxStatus.SENDING and row.lease_until and row.lease_until > at:
            return None
        if row.status == OutboxStatus.QUEUED and row.next_attempt_at > at:
            return None
        row.status = OutboxStatus.SENDING
        row.attempts += 1
        row.lease_until = at + timedelta(seconds=settings.DISCLOSURE_MAIL_LEASE_SECONDS)
        row.save(update_fields=["status", "attempts", "lease_until"])
        return row


def _hand_over(row: OutboxMessage) -> str:
    """Give ``row`` to the configured mail backend; the server's answer.

    With Django's SMTP backend the transaction is driven here, on the
    backend's connection (its TLS, login and timeout), to read the server's
    final reply; other backends (console, in-memory) take the message whole.
    """
    backend = get_connection(fail_silently=False)
    if not isinstance(backend, SMTPBackend):
        backend.send_messages([RawEmailMessage(row)])
        return f"handed to {type(backend).__module__}.{type(backend).__name__}"
    backend.open()
    try:
        smtp = backend.connection
        smtp.ehlo_or_helo_if_needed()
        code, reply = smtp.mail(row.from_email)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, row.from_email)
        refused = {}
        for address in row.recipients:
            code, reply = smtp.rcpt(address)
            if code not in (250, 251):
                refused[address] = (code, reply)
        if len(refused) == len(row.recipients):
            smtp.rset()
            raise smtplib.SMTPRecipientsRefused(refused)
        code, reply = smtp.data(bytes(row.raw))
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        answer = f"{code} {reply.decode('utf-8', 'replace')}"
        if refused:
            answer += "; refused: " + ", ".join(
                f"{a} ({c} {r.decode('utf-8', 'replace')})" for a, (c, r) in refused.items()
            )
        return answer
    finally:
        backend.close()


def _permanent(exc: Exception) -> bool:
    """A refusal the server says is final (5xx): retrying cannot help."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def deliver(pk: int) -> str:
    """Hand outbox message ``pk`` to the mail server once.

    Guarantees: a message marked sent is never handed over again, and two
    workers never send the same message at the same time (a lease; a worker
    that died mid-send leaves it to be retried when the lease ends). A
    temporary failure is retried with back-off; a permanent refusal, or the
    last attempt, marks it failed with the error.
    """
    row = _claim(pk)
    if row is None:
        return SKIPPED
    try:
        answer = _hand_over(row)
    except (smtplib.SMTPException, OSError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        final = _permanent(exc) or row.attempts >= settings.DISCLOSURE_MAIL_MAX_ATTEMPTS
        OutboxMessage.objects.filter(pk=row.pk).update(
            status=OutboxStatus.FAILED if final else OutboxStatus.QUEUED,
            last_error=error,
            lease_until=None,
            next_attempt_at=now() + _retry_delay(row.attempts),
        )
        logger.warning("outbox: %s %s: %s", row.message_id, FAILED if final else RETRY, error)
        return FAILED if final else RETRY
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxStatus.SENT,
        server_response=answer[:2000],
        sent_at=now(),
        lease_until=None,
        last_error="",
    )
    return SENT


def due_ids(limit: int = 500) -> list[int]:
    """Outbox messages waiting for delivery now: queued and due, or held by
    a worker whose lease ran out."""
    at = now()
    return list(
        OutboxMessage.objects.filter(
            Q(status=OutboxStatus.QUEUED, next_attempt_at__lte=at)
            | Q(status=OutboxStatus.SENDING, lease_until__lte=at)
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def dispatch_due(limit: int = 500) -> dict[str, int]:
    """Deliver every due outbox message (beat's ``dispatch_outbox`` and
    ``manage.py send_mail_queue``); counts by outcome."""
    counts = {SENT: 0, RETRY: 0, FAILED: 0, SKIPPED: 0}
    for pk in due_ids(limit):
        counts[deliver(pk)] += 1
    return counts
