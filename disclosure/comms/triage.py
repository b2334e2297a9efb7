"""Received mail that matched no case, handled by staff (the triage list).

- ``attach_inbound``: log the message on a case chosen by staff.
- ``open_case_from_inbound``: open a new case (``cases.services.open_case``,
  the same rules) and log the message on it, in one transaction.
- ``discard_inbound``: set it aside with a reason; its Message-ID stays
  taken, so the message is never ingested again.

Who: those with ``access.Action.TRIAGE_MAIL`` (analysts, leads, admins;
NotPermitted for others). Each records who triaged, when and (discarding)
why on the row. Only a message still waiting can be triaged
(``AlreadyTriaged`` otherwise, with who did it and when); a refused message
(no raw bytes kept) can only be discarded.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases.guards import locked_case
from disclosure.cases.models import Case
from disclosure.cases.services import open_case
from disclosure.core.errors import DomainError, NotFound, ValidationFailed
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated
from disclosure.evidence.storage import blob_name, evidence_storage, open_blob

from .eml import read_received, storable
from .inbound import log_received
from .models import InboundMessage, InboundStatus

logger = logging.getLogger(__name__)

# What the triage list shows: waiting for a decision.
WAITING = (InboundStatus.UNMATCHED, InboundStatus.REFUSED)


class AlreadyTriaged(DomainError):
    """The message was handled already (attached, opened a case, discarded
    or logged on its case when it arrived)."""

    code = "already_triaged"
    http_status = 409


def waiting_messages():
    """The received messages waiting in triage, newest first."""
    return InboundMessage.objects.filter(status__in=WAITING).order_by("-received_at", "-id")


def waiting_count() -> int:
    return InboundMessage.objects.filter(status__in=WAITING).count()


# How much of a message's header block and text is shown.
HEADERS_MAX_CHARS = 20_000
BODY_MAX_CHARS = 100_000


@dataclass(frozen=True)
class Shown:
    """A received message as it is shown (as text, for escaping by whoever
    shows it): its header block, its text and its attachments' (name,
    content type, size). ``kept`` is False when the raw bytes are not kept
    (a refused message), and the rest empty."""

    kept: bool
    headers: str = ""
    body: str = ""
    attachments: tuple[tuple[str, str, int], ...] = ()


def shown(message: InboundMessage) -> Shown:
    """What ``message``'s page shows: its headers and text, cut to
    ``HEADERS_MAX_CHARS`` and ``BODY_MAX_CHARS``, and its attachments."""
    if not message.raw_sha256 or not evidence_storage().exists(blob_name(message.raw_sha256)):
        return Shown(kept=False)
    with open_blob(message.raw_sha256) as f:
        raw = f.read()
    head, _, _ = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
    received = read_received(raw)
    return Shown(
        kept=True,
        headers=storable(head.decode("utf-8", errors="replace"), HEADERS_MAX_CHARS),
        body=received.body[:BODY_MAX_CHARS],
        attachments=tuple((a.name, a.content_type, len(a.content)) for a in received.attachments),
    )


def _lock_waiting(message: InboundMessage, *, loggable: bool) -> InboundMessage:
    """Lock ``message``'s row (inside the caller's transaction) if it still
    waits; a message to log must have its raw bytes."""
    row = InboundMessage.objects.select_for_update().filter(pk=message.pk).first()
    if row is None:
        raise NotFound("No such message.")
    if row.status not in WAITING:
        by = ""
        if row.triaged_by_id is not None:
            who = User.objects.filter(pk=row.triaged_by_id).first()
            by = f" by {who.display_name() if who else 'someone'}"
        when = f" at {row.triaged_at.isoformat()}" if row.triaged_at else ""
        raise AlreadyTriaged(
            f"This message was handled already ({row.get_status_display().lower()}{by}{when})."
        )
    if loggable and row.status == InboundStatus.REFUSED:
        raise ValidationFailed(
            f"This message was refused ({row.problem}); it was not kept and can only be discarded.",
            field="message",
        )
    return row


def _raw(row: InboundMessage) -> bytes:
    try:
        with open_blob(row.raw_sha256) as f:
            raw = f.read()
    except (OSError, ValueError):
        raise ValidationFailed(
            "The stored copy of this message is missing.", field="message"
        ) from None
    if sha256_hex(raw) != row.raw_sha256:
        raise ValidationFailed(
            "The stored copy of this message no longer matches its SHA-256.", field="message"
        )
    return raw


def _log_on(row: InboundMessage, case: Case, actor: User, status: str) -> InboundMessage:
    """Log ``row`` on ``case`` (locked here) and mark it triaged."""
    raw = _raw(row)
    with locked_case(case, actor=actor, action="log_communication") as locked:
        comm = log_received(
            row, read_received(raw), raw, case=locked, actor=actor, automated=row.automated
        )
    row.status, row.case, row.communication = status, case, comm
    row.matched_by = "triage"
    row.triaged_by, row.triaged_at = actor, now()
    row.save(
        update_fields=[
            "status", "case", "communication", "matched_by", "triaged_by", "triaged_at",
        ]
    )  # fmt: skip
    return row


@validated
def attach_inbound(*, actor: User, message: InboundMessage, case: Case) -> InboundMessage:
    """Log the waiting ``message`` on ``case`` as an inbound e-mail (raw
    message and attachments as evidence, the sender checked against the
    vendor's addresses) and mark it ATTACHED by ``actor``. Nothing is
    written when a rule refuses."""
    access.require(actor, access.Action.TRIAGE_MAIL)
    with transaction.atomic():
        row = _lock_waiting(message, loggable=True)
        return _log_on(row, case, actor, InboundStatus.ATTACHED)


@validated
def open_case_from_inbound(*, actor: User, message: InboundMessage, **case_fields: Any) -> Case:
    """Open a case with ``case_fields`` (``open_case``'s arguments and rules)
    and log the waiting ``message`` on it (NEW_CASE by ``actor``), in one
    transaction: a refusal of either writes nothing. Returns the case."""
    access.require(actor, access.Action.TRIAGE_MAIL)
    with transaction.atomic():
        row = _lock_waiting(message, loggable=True)
        case = open_case(actor=actor, **case_fields)
        _log_on(row, case, actor, InboundStatus.NEW_CASE)
        return case


@validated
def discard_inbound(*, actor: User, message: InboundMessage, reason: str) -> InboundMessage:
    """Set the waiting ``message`` aside as DISCARDED with ``reason``
    (required), by ``actor``, now. Its Message-ID stays taken: the same
    message arriving again is not ingested again."""
    access.require(actor, access.Action.TRIAGE_MAIL)
    reason = clean_text(reason, field="reason", required=True, message="Say why it is discarded.")
    with transaction.atomic():
        row = _lock_waiting(message, loggable=False)
        row.status = InboundStatus.DISCARDED
        row.triaged_by, row.triaged_at, row.triage_reason = actor, now(), reason
        row.save(update_fields=["status", "triaged_by", "triaged_at", "triage_reason"])
    logger.info("Inbound message %s discarded by %s: %s", row.message_id, actor, reason)
    return row
