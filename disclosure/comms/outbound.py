"""Mail to the vendor, written by staff from the case and sent through the
outbox (comms.outbox).

``send_case_mail`` checks everything first, then in one transaction under
the case lock: renders the message once, keeps those exact bytes as
evidence (kind raw_message), logs the outbound communication with its
Message-ID and threading headers, queues the same bytes in the outbox and,
when asked, records the ``vendor_notified`` milestone with this message as
the notice. Any refusal leaves nothing behind: no communication, no outbox
row, no evidence, no event.
"""

from __future__ import annotations

import io
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases.guards import (
    check_occurred_at,
    locked_case,
    previous_stage_time,
    require_stage,
)
from disclosure.cases.models import Case
from disclosure.cases.services.lifecycle import enter_vendor_notified
from disclosure.cases.stages import Stage
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated
from disclosure.evidence import integrity
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile, write_evidence
from disclosure.evidence.storage import detect_content_type

from . import outbox
from .addresses import check_recipients
from .models import Channel, Communication, Direction, OutboxPurpose, TemplateKey
from .services import MailHeaders, write_communication
from .templates import reply_address

ACTION = "send_mail"
MAX_ATTACHMENTS = 20


@dataclass(frozen=True)
class _Part:
    name: str
    content: bytes
    content_type: str


def is_first_notice(case: Case, template_key: str = "") -> bool:
    """Whether mail on ``case`` is a first notice: the vendor was never
    notified, or the first-notice template is used."""
    return case.vendor_notified_at is None or template_key == TemplateKey.FIRST_NOTICE


def can_record_notified(user, case: Case) -> bool:
    """Whether sending mail on ``case`` may also record ``vendor_notified``
    (the form's checkbox): the table lets ``user`` notify now."""
    return any(t.action == "notify_vendor" for t in access.available_actions(user, case))


def subject_with_reference(subject: str, case: Case) -> str:
    """``subject`` with ``[<reference>]`` in it (added in front when missing)."""
    mark = f"[{case.reference}]"
    return subject if mark in subject else f"{mark} {subject}"


def _max_bytes() -> int:
    return int(getattr(settings, "DISCLOSURE_MAIL_MAX_BYTES", 80 * 1024 * 1024))


def _read_upload(file: IncomingFile, index: int, budget: int) -> _Part:
    try:
        data = file.stream.read(budget + 1)
    except (OSError, ValueError, TypeError) as exc:
        raise ValidationFailed(
            f"Attachment {index + 1} could not be read: {exc}", field="attachments"
        ) from None
    if not isinstance(data, bytes):
        raise ValidationFailed(f"Attachment {index + 1} is not binary.", field="attachments")
    if not data:
        raise ValidationFailed(f"Attachment {index + 1} is empty.", field="attachments")
    if len(data) > budget:
        raise ValidationFailed(
            f"The attachments are larger than the mail size limit ({_max_bytes():,} bytes).",
            field="attachments",
        )
    name = (file.name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "attachment"
    guessed = mimetypes.guess_type(name)[0]
    return _Part(name, data, guessed or detect_content_type(data[:2048]))


def _read_evidence(case: Case, ids: Sequence[int]) -> list[tuple[EvidenceFile, _Part]]:
    """The case's evidence files ``ids`` with their verified bytes."""
    wanted = list(dict.fromkeys(ids))
    rows = {
        f.pk: f
        for f in EvidenceFile.objects.filter(case=case, pk__in=wanted).exclude(
            kind=EvidenceKind.RAW_MESSAGE
        )
    }
    missing = [str(i) for i in wanted if i not in rows]
    if missing:
        raise ValidationFailed(
            f"{case.reference} has no evidence file {', '.join(missing)} to attach.",
            field="attach_evidence_ids",
        )
    out = []
    for pk in wanted:
        evidence = rows[pk]
        try:
            with integrity.read_verified(evidence.sha256) as stream:
                data = stream.read()
        except integrity.Mismatch:
            raise ValidationFailed(
                f"The stored bytes of {evidence.original_name} do not match its SHA-256: "
                "it is not sent (check the case's integrity alarms).",
                field="attach_evidence_ids",
            ) from None
        out.append((evidence, _Part(evidence.original_name, data, evidence.content_type)))
    return out


def _thread(in_reply_to: Communication | None, case: Case) -> tuple[str, list[str]]:
    """(In-Reply-To, References) of an answer to ``in_reply_to``."""
    if in_reply_to is None:
        return "", []
    if in_reply_to.case_id != case.pk or in_reply_to.direction == Direction.INTERNAL:
        raise ValidationFailed(
            f"The message answered must be a message to or from the vendor on {case.reference}.",
            field="in_reply_to",
        )
    if not in_reply_to.message_id:
        return "", []
    references = [r for r in in_reply_to.references.split() if r]
    if in_reply_to.message_id not in references:
        references.append(in_reply_to.message_id)
    return in_reply_to.message_id, references


def build_message(
    *,
    case: Case,
    to: Sequence[str],
    cc: Sequence[str],
    subject: str,
    body: str,
    parts: Sequence[_Part],
    in_reply_to: str = "",
    references: Sequence[str] = (),
) -> EmailMessage:
    """The e-mail as sent: From DEFAULT_FROM_EMAIL, Reply-To the case's
    reply address, threading headers when answering."""
    headers = {}
    if in_reply_to:
        headers["In-Reply-To"] = in_reply_to
        headers["References"] = " ".join(references)
    message = EmailMessage(
        subject=subject,
        body=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(to),
        cc=list(cc),
        reply_to=[reply_address(case)],
        headers=headers,
    )
    for part in parts:
        message.attach(part.name, part.content, part.content_type)
    return message


@validated
def send_case_mail(
    *,
    actor: User,
    case: Case,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    body: str,
    template_key: str = "",
    attach_evidence_ids: Sequence[int] = (),
    attachments: Sequence[IncomingFile] = (),
    in_reply_to: Communication | None = None,
    record_notified: bool = False,
    found_at_source: str = "",
) -> Communication:
    """Send mail about ``case`` to its vendor; the outbound communication.

    Guarantees, all in one transaction under the case lock: the recipients
    pass ``addresses.check_recipients``; the subject carries
    ``[<reference>]``; the message has a Message-ID, Reply-To the case's
    reply address and, when answering a message with a Message-ID,
    In-Reply-To and References; the bytes queued in the outbox are exactly
    the bytes kept as raw_message evidence (shared with the vendor, who
    receives them); attached evidence files are sent as stored (verified
    against their SHA-256) and new files become evidence of the case. With
    ``record_notified`` the case also enters ``vendor_notified`` with this
    message as the notice (only where the table allows notifying now). A
    refusal (a DomainError) writes nothing.
    """
    with locked_case(case, actor=actor, action=ACTION) as locked:
        if template_key and template_key not in TemplateKey.values:
            raise ValidationFailed(f"Unknown mail template {template_key!r}.", field="template_key")
        subject = clean_text(
            subject, model=Communication, field="subject", required=True,
            message="The mail needs a subject.",
        )  # fmt: skip
        if "\n" in subject or "\r" in subject:
            raise ValidationFailed("The subject is one line.", field="subject")
        subject = subject_with_reference(subject, locked)
        if len(subject) > Communication._meta.get_field("subject").max_length:
            raise ValidationFailed("The subject is too long.", field="subject")
        body = clean_text(body, field="body", required=True, message="The mail needs a text.")
        recipients = check_recipients(
            locked,
            to=to,
            cc=cc,
            first_notice=is_first_notice(locked, template_key),
            found_at_source=found_at_source,
        )
        occurred_at = now()
        if record_notified:
            access.require(actor, "notify_vendor", locked)
            require_stage(locked, "notify_vendor")
            check_occurred_at(
                occurred_at,
                not_before=previous_stage_time(locked, Stage.VENDOR_NOTIFIED),
                what="the notification",
            )
        in_reply, references = _thread(in_reply_to, locked)
        if len(attach_evidence_ids) + len(attachments) > MAX_ATTACHMENTS:
            raise ValidationFailed(f"At most {MAX_ATTACHMENTS} attachments.", field="attachments")
        existing = _read_evidence(locked, attach_evidence_ids)
        budget = _max_bytes() - sum(len(p.content) for _, p in existing)
        uploads = []
        for i, file in enumerate(attachments):
            part = _read_upload(file, i, budget)
            budget -= len(part.content)
            uploads.append((file, part))
        message = build_message(
            case=locked,
            to=recipients.to,
            cc=recipients.cc,
            subject=subject,
            body=body,
            parts=[p for _, p in existing] + [p for _, p in uploads],
            in_reply_to=in_reply,
            references=references,
        )
        message_id, raw = outbox.render(message)
        if len(raw) > _max_bytes():
            raise ValidationFailed(
                f"The message is larger than the mail size limit ({_max_bytes():,} bytes).",
                field="attachments",
            )
        raw_evidence = write_evidence(
            case=locked,
            actor=actor,
            file=IncomingFile(
                name=f"{locked.reference}-{message_id.strip('<>').split('@')[0]}.eml",
                stream=io.BytesIO(raw),
                kind=EvidenceKind.RAW_MESSAGE,
                description=f"Mail {message_id} as sent: {subject}",
                shared=True,
            ),
        )
        files = [
            IncomingFile(
                name=p.name,
                stream=io.BytesIO(p.content),
                kind=EvidenceKind.ATTACHMENT,
                description=evidence.description,
                shared=True,
            )
            for evidence, p in existing
        ] + [
            IncomingFile(
                name=p.name,
                stream=io.BytesIO(p.content),
                kind=EvidenceKind.ATTACHMENT,
                description=file.description if isinstance(file.description, str) else "",
                shared=True,
            )
            for file, p in uploads
        ]
        comm = write_communication(
            case=locked,
            actor=actor,
            direction=Direction.OUTBOUND,
            channel=Channel.EMAIL,
            sender=settings.DEFAULT_FROM_EMAIL,
            recipients=recipients.logged(),
            subject=subject,
            body=body,
            occurred_at=occurred_at,
            attachments=files,
            mail=MailHeaders(
                message_id=message_id,
                raw_message=raw_evidence,
                in_reply_to=in_reply,
                references=references,
            ),
        )
        outbox.enqueue(
            purpose=OutboxPurpose.VENDOR_MAIL,
            message=message,
            case=locked,
            communication=comm,
            raw=(message_id, raw),
        )
        if record_notified:
            enter_vendor_notified(case=locked, actor=actor, notice=comm)
        return comm
