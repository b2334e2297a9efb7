"""Received mail becomes the case's communications.

``ingest(raw, source=...)`` takes one message as read from the mailbox
(comms.fetch: a Maildir, IMAP) and returns its ``InboundMessage``; it never
raises for bad mail, so one bad message never stops the others:

1. Over ``DISCLOSURE_MAIL_MAX_BYTES``, empty, or a message Disclosure sent
   itself: REFUSED with the reason; the raw bytes are not stored.
2. Read with the standard library (``eml.read_received``: ``email.policy.default``,
   no MIME parsing of our own): whatever is broken (MIME structure, charsets,
   base64, NUL bytes, absurd headers) is read best-effort and named in
   ``problem``; the raw bytes are always kept.
3. The Message-ID (a missing one is ``<sha256-of-raw@inbound.invalid>``) is
   taken once: a second arrival returns the first row, logging nothing (the
   unique column decides between concurrent fetches).
4. The raw bytes go to the content-addressed evidence store
   (``InboundMessage.raw_sha256``; the orphan sweep keeps them).
5. Matched to a case by the reference in a plus address of
   ``DISCLOSURE_REPLY_ADDRESS`` (To, Cc, Delivered-To, X-Original-To), in
   the subject, by In-Reply-To/References against our Message-IDs
   (communications and the outbox), or, for a bounce, by the bounced
   message's Message-ID. Matched: logged as an inbound e-mail communication
   with the raw message (evidence kind RAW_MESSAGE) and the attachments as
   evidence; ``sender_unknown`` when the From address is none of the
   vendor's known addresses or domains; ``automated`` from comms.classify.
   Unmatched, or refused by the case (a rule of the log): UNMATCHED, waiting
   in triage (comms.triage).
6. A bounce marks its failed addresses undeliverable (``UndeliverableAddress``),
   those a message Disclosure sent went to (a forged report marks nothing).

The actor of what is logged is the system's mail account (``mail_account``):
an inactive user without password or memberships, which no access check
passes; the case is locked with ``cases.guards.system_locked_case``, the
same lock, ledger and stage checks without a person's permission check. The
ledger records the actor as the system (``accounts.selectors.actor_snapshot``).

Errors that are not the message's fault (the database or the storage down)
propagate: the mailbox then keeps the message and the next fetch tries again.

Alone (``receive``), each message is one transaction: a matched one the
case lock's own (``system_locked_case``), a message its case refuses rolls
that back whole and is kept for triage in a second. A fetch hands over a
chunk at a time (``receive_batch``, in ``comms.inbound_batch``): the
chunk is one transaction, its ordinary messages taken set-based, the
others each in a savepoint within it (a refused message rolls back only
its own), and the mailbox marks the chunk's messages processed after the
commit. A message's events write the case row's ledger head once
(``ledger.services.head_written_once``). Within one fetch (``comms.runscope``,
set by ``comms.fetch.fetch_mail``) the mail account, a vendor's known
addresses, a case found by reference and its staff recipients are read
once; a change made meanwhile is seen by the next fetch.
"""

import io
import logging
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import default as default_policy

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from disclosure.accounts.models import User
from disclosure.accounts.selectors import MAIL_ACCOUNT_USERNAME
from disclosure.cases.guards import system_locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import DomainError
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile, write_evidence
from disclosure.evidence.storage import store_stream
from disclosure.ledger.services import head_written_once

from . import runscope
from .classify import Classification, classify
from .eml import ReceivedEmail, message_ids, read_received, storable
from .matching import match_case
from .models import (
    Automated,
    Channel,
    Communication,
    Direction,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
)
from .senders import mark_undeliverable, sender_is_unknown
from .services import MailHeaders, write_communication

logger = logging.getLogger(__name__)

SYNTHETIC_DOMAIN = "inbound.invalid"
# How much of a refused message is read for its Message-ID.
_HEADER_BYTES = 256 * 1024


@dataclass(frozen=True)
class Received:
    """What ``receive`` made of one message: its row, and whether the row
    was there already (the message arrived before)."""

    message: InboundMessage
    duplicate: bool


def ingest(raw: bytes, *, source: str) -> InboundMessage:
    """Take one received message (``raw``, as read from ``source``: "maildir:<path>",
    "imap:<folder>") and return its InboundMessage (see the module docstring).
    Never raises for bad mail; a message that arrived before returns its
    first row, and nothing is logged twice."""
    return receive(raw, source=source).message


def receive(raw: bytes, *, source: str) -> Received:
    """``ingest``, also telling whether the message was a duplicate."""
    incoming = _read(raw, source)
    seen = _seen([incoming.message_id]) if not incoming.refused else {}
    return _receive(incoming, seen.get(incoming.message_id, _NOT_SEEN))


def receive_batch(raws: Sequence[bytes], *, source: str) -> list["Received | Exception"]:
    """A fetch's chunk of messages in one transaction: see
    ``comms.inbound_batch.receive_batch``."""
    from .inbound_batch import receive_batch as receive_chunk

    return receive_chunk(raws, source=source)


@dataclass(frozen=True)
class _Incoming:
    """One message as read before anything is written: refused (``refused``
    says why) or read (``mail``), named by ``message_id``."""

    raw: bytes
    sha: str
    source: str
    message_id: str
    mail: ReceivedEmail | None = None
    refused: str = ""
    kind: Classification | None = None  # classify(mail.message), when done already


def _read(
    raw: bytes, source: str, mail: ReceivedEmail | None = None, kind: Classification | None = None
) -> _Incoming:
    """Checks of size and content, the reading and the Message-ID of ``raw``
    (``mail``: ``read_received(raw)`` done already, elsewhere, and ``kind``
    its ``classify``)."""
    raw = bytes(raw)
    source = storable(source, 200)
    sha = sha256_hex(raw)
    limit = settings.DISCLOSURE_MAIL_MAX_BYTES
    if len(raw) > limit:
        reason = f"The message is {len(raw):,} bytes, more than the {limit:,} allowed."
        return _Incoming(raw, sha, source, "", refused=reason)
    if not raw.strip():
        return _Incoming(raw, sha, source, "", refused="The message is empty.")
    if mail is None:
        mail, kind = read_received(raw), None
    message_id = mail.message_id or synthetic_message_id(sha)
    return _Incoming(raw, sha, source, message_id, mail, kind=kind)


def _to_read(raw: bytes) -> bool:
    """Whether ``_read`` would parse ``raw`` (not refused for its size or emptiness)."""
    return len(raw) <= settings.DISCLOSURE_MAIL_MAX_BYTES and bool(raw.strip())


def _receive(incoming: _Incoming, seen: tuple[bool, bool, bool]) -> Received:
    """Receive a message read by ``_read``; ``seen``: whether its Message-ID
    is ours, received before, logged before (``_seen``)."""
    raw, sha, source, message_id, mail = (
        incoming.raw, incoming.sha, incoming.source, incoming.message_id, incoming.mail
    )  # fmt: skip
    if incoming.refused or mail is None:
        return _refuse(raw, sha, source, incoming.refused)
    ours, was_seen, logged = seen
    if ours:
        return _refuse(raw, sha, source, "Disclosure sent this message itself.", mail=mail)
    try:
        found = _existing(message_id, raw, sha, source) if was_seen or logged else None
        if found is not None:
            return Received(found, True)
        return Received(_take(raw, sha, source, mail, message_id), False)
    except IntegrityError:
        found = _existing(message_id, raw, sha, source)  # a concurrent fetch took it first
        if found is None:
            raise
        return Received(found, True)


def synthetic_message_id(sha256: str) -> str:
    """The Message-ID of a message that has none: its content's hash."""
    return f"<{sha256}@{SYNTHETIC_DOMAIN}>"


def mail_account() -> User:
    """The system's account received mail is logged by: ``disclosure-mail``
    ("Disclosure mail"), inactive, with an unusable password and no
    membership (created on first use). Raises RuntimeError when an account
    of that name exists that a person could use.

    Checked once per fetch run (``comms.runscope``); an account created by
    this call is not remembered, since the message's transaction that
    created it may roll back."""
    created: list[User] = []
    return runscope.remembered(
        "mail_account", lambda: _mail_account(created), keep=lambda u: u not in created
    )


def _mail_account(created: list[User]) -> User:
    user = User.objects.filter(username=MAIL_ACCOUNT_USERNAME).first()
    if user is None:
        user = User(
            username=MAIL_ACCOUNT_USERNAME, first_name="Disclosure", last_name="mail",
            is_active=False,
        )  # fmt: skip
        user.set_unusable_password()
        try:
            with transaction.atomic():
                user.save()
        except IntegrityError:
            user = User.objects.get(username=MAIL_ACCOUNT_USERNAME)
        else:
            created.append(user)
    if user.is_active or user.has_usable_password() or user.memberships.exists():
        raise RuntimeError(
            f"The account {MAIL_ACCOUNT_USERNAME!r} can sign in or holds a role: it cannot "
            "log received mail. Rename that account."
        )
    return user


# --- what was there before ----------------------------------------------------


_NOT_SEEN = (False, False, False)
# Whether a chunk's one transaction is being written (``receive_batch``).
_in_chunk: ContextVar[bool] = ContextVar("disclosure_mail_chunk", default=False)


def _seen(message_ids: Sequence[str]) -> dict[str, tuple[bool, bool, bool]]:
    """For each of ``message_ids`` found anywhere: whether it is one
    Disclosure sent (in the outbox), one received before (an InboundMessage)
    and one logged before (a Communication); one query for them all. An ID
    found nowhere is missing (``_NOT_SEEN``)."""
    ids = sorted(set(message_ids))
    if not ids:
        return {}
    q = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(ids))
    column = q("message_id")
    sql = " UNION ALL ".join(
        f"SELECT {column}, {n} FROM {q(m._meta.db_table)} WHERE {column} IN ({marks})"
        for n, m in enumerate((OutboxMessage, InboundMessage, Communication))
    )
    found: dict[str, list[bool]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, ids * 3)
        for message_id, where in cursor.fetchall():
            found.setdefault(message_id, [False, False, False])[where] = True
    return {m: (a, b, c) for m, (a, b, c) in found.items()}


def _existing(message_id: str, raw: bytes, sha: str, source: str) -> InboundMessage | None:
    """The row of ``message_id`` if it was received before; for a message
    logged before by other means, a new MATCHED row saying so."""
    row = InboundMessage.objects.filter(message_id=message_id).first()
    if row is not None:
        return row
    comm = Communication.objects.filter(message_id=message_id).only("pk", "case_id").first()
    if comm is None:
        return None
    # Logged already (an .eml uploaded by hand, say): a row saying so, nothing logged.
    with transaction.atomic():
        return InboundMessage.objects.create(
            message_id=message_id,
            source=source,
            raw_sha256=sha,
            raw_size=len(raw),
            received_at=now(),
            status=InboundStatus.MATCHED,
            case_id=comm.case_id,
            matched_by="message_id",
            problem=f"This message was logged before (communication #{comm.pk}); not logged again.",
        )


def _refuse(
    raw: bytes, sha: str, source: str, reason: str, *, mail: ReceivedEmail | None = None
) -> Received:
    """A REFUSED row (the raw bytes not kept), or the earlier row of the
    same Message-ID."""
    message_id, sender, subject = _head(raw) if mail is None else (
        mail.message_id, mail.sender, mail.subject
    )  # fmt: skip
    message_id = message_id or synthetic_message_id(sha)
    found = InboundMessage.objects.filter(message_id=message_id).first()
    if found is not None:
        return Received(found, True)
    try:
        with transaction.atomic():
            row = InboundMessage.objects.create(
                message_id=message_id,
                source=source,
                raw_sha256=sha,
                raw_size=len(raw),
                sender=storable(sender, 998),
                subject=storable(subject, 998),
                received_at=now(),
                status=InboundStatus.REFUSED,
                problem=reason,
            )
    except IntegrityError:
        return Received(InboundMessage.objects.get(message_id=message_id), True)
    logger.warning("Refused message %s from %s: %s", message_id, source, reason)
    return Received(row, False)


def _head(raw: bytes) -> tuple[str, str, str]:
    """(Message-ID, From, Subject) of a message read no further than its header."""
    try:
        head = BytesHeaderParser(policy=default_policy).parsebytes(raw[:_HEADER_BYTES])
        ids = message_ids(str(head.get("message-id") or ""))
        return ids[0] if ids else "", str(head.get("from") or ""), str(head.get("subject") or "")
    except Exception:
        return "", "", ""


# --- taking a message ---------------------------------------------------------


def _take(raw: bytes, sha: str, source: str, mail: ReceivedEmail, message_id: str):
    """Log a new message on its case, else keep it for triage; one
    transaction either way (a message its case refuses: the attempt rolls
    back whole and the message is kept for triage in a second one)."""
    kind = classify(mail.message) if mail.message is not None else Classification()
    problems = list(mail.problems)
    if not mail.message_id:
        problems.append("The message has no Message-ID; it is named by its SHA-256.")

    def new_row() -> tuple[InboundMessage, list[str]]:
        """The row (saved at once for a bounce, which the undeliverable rows name)."""
        found = list(problems)
        row = InboundMessage(
            message_id=message_id,
            source=source,
            raw_sha256=sha,
            raw_size=len(raw),
            sender=storable(mail.sender, 998),
            subject=storable(mail.subject, 998),
            sent_at=mail.date if _sane(mail.date) else None,
            received_at=now(),
            automated=kind.kind,
            status=InboundStatus.UNMATCHED,
            problem=storable("\n".join(found)),
        )
        if kind.kind == Automated.BOUNCE:
            store_stream(io.BytesIO(raw), max_bytes=max(len(raw), 1))
            row.save(force_insert=True)
            _, ignored = mark_undeliverable(kind, row)
            if ignored:
                found.append(
                    f"The report names {', '.join(ignored)} as failed, but not as a recipient "
                    "of a message Disclosure sent: not marked undeliverable."
                )
        return row, found

    case, matched_by = match_case(mail, kind)
    refused = ""
    if case is not None:
        try:
            # The case's lock opens the message's transaction (a savepoint
            # within a batch); the case row's ledger head is written once.
            with (
                system_locked_case(case, action="log_communication") as locked,
                head_written_once(locked),
            ):
                row, found = new_row()
                comm = log_received(
                    row, mail, raw, case=locked, actor=mail_account(), automated=kind.kind
                )
                row.status, row.case, row.communication = InboundStatus.MATCHED, case, comm
                row.matched_by, row.problem = matched_by, storable("\n".join(found))
                _save(row)  # a logged message's bytes are its evidence already
                return row
        except DomainError as e:  # rolled back whole: kept for triage below
            refused = f"Could not be logged on {case.reference}: {e.message}"
    # Within a chunk no savepoint of its own: a failure here fails the chunk.
    with transaction.atomic(savepoint=not _in_chunk.get()):
        row, found = new_row()
        row.problem = storable("\n".join([*found, refused] if refused else found))
        if row.pk is None:
            store_stream(io.BytesIO(raw), max_bytes=max(len(raw), 1))
        _save(row)
    return row


def _save(row: InboundMessage) -> None:
    """One INSERT of a new row with its outcome (the unique Message-ID
    decides between concurrent fetches), or the UPDATE of a bounce's row."""
    if row.pk is None:
        row.save(force_insert=True)
    else:
        row.save(update_fields=["status", "case", "communication", "matched_by", "problem"])


def _sane(value: datetime | None) -> bool:
    """Whether a Date header's time is worth keeping (not before 1971, not
    more than a day ahead)."""
    return value is not None and value.year > 1970 and value < now() + timedelta(days=1)


# --- logging on a case --------------------------------------------------------


def _occurred_at(mail: ReceivedEmail, case: Case) -> datetime:
    """When the message was sent by its Date header, if that is after the
    case was found and not in the future; else now (when it was received)."""
    current = now()
    if mail.date is not None and case.found_at <= mail.date <= current:
        return mail.date
    return current


def log_received(
    row: InboundMessage,
    mail: ReceivedEmail,
    raw: bytes,
    *,
    case: Case,
    actor,
    automated: str,
) -> Communication:
    """Log ``row`` (read as ``mail``, the bytes ``raw``) on the locked
    ``case`` as an inbound e-mail communication by ``actor``: the raw
    message as RAW_MESSAGE evidence, the attachments as evidence, the sender
    checked against the vendor's addresses. The files of a message from an
    unknown sender stay internal (the firm's) until someone shares them.
    For use inside a service that holds the case lock."""
    unknown = sender_is_unknown(mail.sender, case)
    shared = False if unknown else None
    raw_file = write_evidence(
        case=case,
        actor=actor,
        file=IncomingFile(
            name=f"message-{row.raw_sha256[:12]}.eml",
            stream=io.BytesIO(raw),
            kind=EvidenceKind.RAW_MESSAGE,
            description=storable(f"E-mail received: {mail.subject}", 500),
            shared=shared,
        ),
        reuse_existing=True,
    )
    recipients = [*mail.to, *(f"cc: {a}" for a in mail.cc)] or list(mail.header("delivered-to"))
    recipients = [storable(r, 500) for r in recipients][:500] or ["(no recipient named)"]
    body = mail.body
    limit = getattr(settings, "DISCLOSURE_MAX_TEXT_CHARS", 1_000_000)
    if len(body) > limit:
        body = body[:limit] + "\n[… cut; the whole message is the raw message evidence]"
    if not body.strip() and not mail.subject and not mail.attachments:
        body = "(The message has no text; see the raw message.)"
    return write_communication(
        case=case,
        actor=actor,
        direction=Direction.INBOUND,
        channel=Channel.EMAIL,
        sender=storable(mail.sender, 320) or "(no sender)",
        recipients=recipients,
        subject=storable(mail.subject, 500),
        body=body,
        occurred_at=_occurred_at(mail, case),
        attachments=[
            IncomingFile(name=a.name, stream=io.BytesIO(a.content), shared=shared)
            for a in mail.attachments
        ],
        mail=MailHeaders(
            message_id=row.message_id,
            raw_message=raw_file,
            in_reply_to=mail.in_reply_to,
            references=mail.references,
            sender_unknown=unknown,
            automated=automated,
        ),
    )
