"""Writes to the communication log."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from disclosure.accounts.models import Role, User
from disclosure.cases import access
from disclosure.cases.guards import check_occurred_at, locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import DuplicateMessage, ValidationFailed
from disclosure.core.hashing import sha256_hex
from disclosure.core.validation import clean_text, validated
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile, write_evidence_files
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from . import notices
from .models import Automated, Channel, Communication, Direction


@dataclass(frozen=True)
class MailHeaders:
    """What a communication carries when it is an e-mail Disclosure sent or
    received (``write_communication(mail=...)``)."""

    message_id: str
    raw_message: EvidenceFile
    in_reply_to: str = ""
    references: Sequence[str] = ()
    sender_unknown: bool | None = None
    automated: str = ""

    def fields(self, case: Case) -> dict:
        """The Communication columns, checked: a Message-ID in angle brackets
        not logged before, the raw message among ``case``'s evidence."""
        message_id = self.message_id.strip()
        if not (message_id.startswith("<") and message_id.endswith(">") and len(message_id) > 2):
            raise ValidationFailed(
                f"{self.message_id!r} is not a Message-ID (<id@host>).", field="message_id"
            )
        if len(message_id) > 998:
            raise ValidationFailed(
                "The Message-ID is longer than 998 characters.", field="message_id"
            )
        if Communication.objects.filter(message_id=message_id).exists():
            raise DuplicateMessage(
                f"The message {message_id} is logged already.", field="message_id"
            )
        if self.raw_message.case_id != case.pk:
            raise ValidationFailed(
                "The raw message must be evidence of this case.", field="raw_message"
            )
        if self.automated and self.automated not in Automated.values:
            raise ValidationFailed(f"Unknown kind {self.automated!r}.", field="automated")
        return {
            "message_id": message_id,
            "in_reply_to": self.in_reply_to.strip()[:998],
            "references": " ".join(r.strip() for r in self.references if r.strip()),
            "raw_message": self.raw_message,
            "sender_unknown": self.sender_unknown,
            "automated": self.automated,
        }


# Recipients of one communication: an address with a display name (and a
# "cc: " mark) fits in 500 characters; more than 500 recipients is not a
# message to a vendor (a list of 10 MB was accepted before).
MAX_RECIPIENTS = 500
RECIPIENT_MAX_CHARS = 500


def write_communication(
    *,
    case: Case,
    actor,
    direction: str,
    channel: str,
    sender: str,
    recipients: Sequence[str | None],
    subject: str = "",
    body: str = "",
    occurred_at: datetime,
    attachments: Sequence[IncomingFile] = (),
    mail: MailHeaders | None = None,
) -> Communication:
    """Log a communication on the locked ``case`` with its ledger event.

    ``mail``: an e-mail sent or received through Disclosure, with its
    threading headers and the raw message (evidence of this case); its
    Message-ID is never logged twice (``DuplicateMessage``).

    For use inside a service that holds the case lock. Guarantees a known
    direction and channel, a sender, at least one recipient for messages that
    cross to or from the vendor, some content, and a time not in the future.
    Vendor contacts can only log what they send (inbound), never internal notes.
    """
    if direction not in Direction.values:
        raise ValidationFailed(f"Unknown direction {direction!r}.", field="direction")
    if channel not in Channel.values:
        raise ValidationFailed(f"Unknown channel {channel!r}.", field="channel")
    if access.role_on(actor, case) == Role.VENDOR_CONTACT and direction != Direction.INBOUND:
        raise ValidationFailed(
            "Vendor contacts can only log messages they send to the research firm.",
            field="direction",
        )
    sender = clean_text(
        sender, model=Communication, field="sender", required=True, message="Say who sent it."
    )
    if isinstance(recipients, str) or not all(isinstance(r, str | None) for r in recipients):
        raise ValidationFailed("Recipients are a list of addresses or names.", field="recipients")
    clean_recipients = [r.strip() for r in recipients if r and r.strip()]
    if len(clean_recipients) > MAX_RECIPIENTS:
        raise ValidationFailed(
            f"At most {MAX_RECIPIENTS} recipients ({len(clean_recipients)} given).",
            field="recipients",
        )
    if any(len(r) > RECIPIENT_MAX_CHARS for r in clean_recipients):
        raise ValidationFailed(
            f"A recipient is longer than {RECIPIENT_MAX_CHARS} characters: give an address "
            "or a name and an address.",
            field="recipients",
        )
    if direction != Direction.INTERNAL and not clean_recipients:
        raise ValidationFailed("Say to whom it was sent.", field="recipients")
    subject = clean_text(subject, model=Communication, field="subject")
    if not isinstance(body, str):
        raise ValidationFailed("The body must be text.", field="body")
    if not subject and not body.strip() and not attachments:
        raise ValidationFailed(
            "A communication needs a subject, a body or an attachment.", field="body"
        )
    check_occurred_at(
        occurred_at,
        not_before=case.found_at,
        what="the communication",
        since="the exposure was found",
    )
    # Mail from outside the vendor's known addresses (a third party quoting
    # the reference, say) is the firm's until staff act on it: neither it nor
    # its files reach the vendor (vendor_view.VENDOR_COMMUNICATIONS).
    internal = direction == Direction.INTERNAL or bool(mail and mail.sender_unknown)
    files = write_evidence_files(
        case=case,
        actor=actor,
        files=[f.as_kind(EvidenceKind.ATTACHMENT) for f in attachments],
        internal=internal,
        reuse_existing=True,
    )
    mail_fields = mail.fields(case) if mail is not None else {}
    comm = Communication.objects.create(
        **mail_fields,
        case=case,
        direction=direction,
        channel=channel,
        sender=sender,
        recipients=clean_recipients,
        subject=subject,
        body=body,
        body_sha256=sha256_hex(body.encode("utf-8")),
        occurred_at=occurred_at,
        logged_by=actor,
    )
    if files:  # a new row has none yet
        comm.attachments.add(*files)
    append_event(
        case=case,
        kind=EventKind.COMMUNICATION_LOGGED,
        actor=actor,
        occurred_at=occurred_at,
        internal=internal,
        payload={
            "communication_id": comm.pk,
            "direction": direction,
            "channel": channel,
            "sender": sender,
            "recipients": clean_recipients,
            "subject": subject,
            "body_sha256": comm.body_sha256,
            "attachments": sorted(f.sha256 for f in files),
            **({"message_id": comm.message_id} if comm.message_id else {}),
            **({"automated": comm.automated} if comm.automated else {}),
            "record": record_ref(comm, linked=[f.pk for f in files]),
        },
    )
    notices.message_logged(comm, actor, received=mail is not None)  # in this transaction
    return comm


@validated
def log_communication(
    *,
    actor: User,
    case: Case,
    direction: str,
    channel: str,
    sender: str,
    recipients: Sequence[str | None],
    subject: str = "",
    body: str = "",
    occurred_at: datetime,
    attachments: Sequence[IncomingFile] = (),
) -> Communication:
    """Log one communication on ``case``; see write_communication for the rules."""
    with locked_case(case, actor=actor, action="log_communication") as locked:
        return write_communication(
            case=locked,
            actor=actor,
            direction=direction,
            channel=channel,
            sender=sender,
            recipients=recipients,
            subject=subject,
            body=body,
            occurred_at=occurred_at,
            attachments=attachments,
        )
