"""What a received message is when no person wrote it: an automatic reply
(out of office, vacation) or a delivery failure report (a bounce).

Pure: a parsed ``EmailMessage`` (standard library, ``email.policy.default``)
in, a ``Classification`` out; never raises for odd mail (an unreadable part
only means less is recognised).

- Bounces: an RFC 3464 report (``multipart/report; report-type=delivery-status``)
  whose ``message/delivery-status`` part names recipients with ``Action:
  failed`` or a ``5.x.x`` status; and the classic non-standard ones (a
  ``MAILER-DAEMON``/postmaster sender or an empty return path with a
  failure subject), whose failed addresses come from ``X-Failed-Recipients``
  (Exim) or qmail's ``<address>:`` lines. The bounced message's Message-ID
  comes from the returned ``message/rfc822`` or ``text/rfc822-headers`` part.
  A delivery report that failed nothing (delayed, relayed) is an automatic
  message, not a failure.
- Automatic replies: ``Auto-Submitted`` other than ``no`` (RFC 3834),
  ``X-Autoreply``, ``X-Autorespond``, ``Precedence: auto_reply/bulk/junk``,
  and out-of-office subjects ("Automatic reply:", "Out of Office", "Auto:" ...).
"""

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from .models import Automated


@dataclass(frozen=True)
class Classification:
    """``kind``: an ``Automated`` value, or "" for a message a person wrote.
    For a bounce, the addresses that failed (lower case) and the bounced
    message's Message-ID when the report returned it; ``reason`` says what
    gave it away."""

    kind: str = ""
    failed: tuple[str, ...] = ()
    bounced_message_id: str = ""
    reason: str = ""
    diagnostics: dict[str, str] = field(default_factory=dict)


_BOUNCE_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon")
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver(ed|able)|returned mail|delivery status notification \(failure\)|"
    r"mail delivery (failed|failure|subsystem)|failure notice|delivery failure|"
    r"non[- ]?delivery|message not delivered|unzustellbar|nicht zustellbar|"
    r"non remis|undelivered mail returned to sender)",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?(reply|response|antwort)|auto:|autoreply|"
    r"out of (the )?office|ooo\b|on vacation|vacation reply|away from (the )?office|"
    r"abwesenheitsnotiz|automatische antwort|r[ée]ponse automatique|absence)",
    re.IGNORECASE,
)
_ADDRESS = re.compile(r"[^\s<>\"';,]+@[^\s<>\"';,]+")
_QMAIL_RECIPIENT = re.compile(r"^<([^\s<>]+@[^\s<>]+)>:\s*$", re.MULTILINE)
_MESSAGE_ID_LINE = re.compile(r"^message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # a header the policy cannot parse: read it as raw text
        value = next((v for k, v in msg.raw_items() if k.lower() == name), None)
    return " ".join(str(value).split()) if value is not None else ""


def _address_of(value: str) -> str:
    found = _ADDRESS.search(value or "")
    return found.group(0).strip(".").lower() if found else ""


def _fields(block: Message) -> dict[str, str]:
    return {k.lower(): " ".join(str(v).split()) for k, v in block.raw_items()}


def _delivery_status_blocks(part: Message) -> list[dict[str, str]]:
    """The field blocks of a message/delivery-status part (the per-message
    block first, then one per recipient)."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [_fields(b) for b in payload if isinstance(b, Message)]
    text = payload if isinstance(payload, str) else ""
    blocks = []
    for chunk in re.split(r"\r?\n\s*\r?\n", text):
        if chunk.strip():
            parsed = email.message_from_string(chunk.strip() + "\n\n", policy=email.policy.compat32)
            blocks.append(_fields(parsed))
    return blocks


def _returned_message_id(msg: Message) -> str:
    """The Message-ID of the message a report returns (its message/rfc822
    or text/rfc822-headers part), else of a quoted header block in the text."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if isinstance(inner, Message):
                value = _header(inner, "message-id")
                if value:
                    return value
        elif ctype == "text/rfc822-headers":
            found = _MESSAGE_ID_LINE.search(_text(part))
            if found:
                return found.group(1)
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            found = _MESSAGE_ID_LINE.search(_text(part))
            if found:
                return found.group(1)
    return ""


def _text(part: Message) -> str:
    try:
        raw = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(raw, bytes):
        return ""
    return raw.decode(part.get_content_charset() or "utf-8", errors="replace")


def _rfc3464(msg: Message) -> Classification | None:
    is_report = msg.get_content_type() == "multipart/report" and (
        str(msg.get_param("report-type", "")).lower() == "delivery-status"
    )
    status_parts = [
        p
        for p in msg.walk()
        if p.get_content_type() in ("message/delivery-status", "message/global-delivery-status")
    ]
    if not (is_report or status_parts):
        return None
    failed: list[str] = []
    diagnostics: dict[str, str] = {}
    for part in status_parts:
        for block in _delivery_status_blocks(part)[1:] or _delivery_status_blocks(part):
            recipient = block.get("final-recipient") or block.get("original-recipient") or ""
            address = _address_of(recipient.split(";", 1)[-1])
            action = block.get("action", "").lower()
            status = block.get("status", "")
            if address and (action == "failed" or status.startswith("5")):
                if address not in failed:
                    failed.append(address)
                diagnostics[address] = " ".join(
                    x for x in (status, block.get("diagnostic-code", "")) if x
                )[:1000]
    returned = _returned_message_id(msg)
    if not failed:
        return Classification(
            kind=Automated.AUTO_REPLY,
            bounced_message_id=returned,
            reason="a delivery report that failed no recipient (delayed or relayed)",
        )
    return Classification(
        kind=Automated.BOUNCE,
        failed=tuple(failed),
        bounced_message_id=returned,
        reason="an RFC 3464 delivery status report",
        diagnostics=diagnostics,
    )


def _classic_bounce(msg: Message) -> Classification | None:
    sender = _address_of(_header(msg, "from"))
    local = sender.split("@", 1)[0]
    subject = _header(msg, "subject")
    return_path = _header(msg, "return-path")
    from_daemon = local in _BOUNCE_SENDERS
    null_sender = return_path.replace(" ", "") == "<>"
    failed_header = _header(msg, "x-failed-recipients")
    if not (
        (from_daemon and (_BOUNCE_SUBJECT.search(subject) or failed_header))
        or (null_sender and _BOUNCE_SUBJECT.search(subject))
    ):
        return None
    failed = [a.lower() for a in _ADDRESS.findall(failed_header)]
    if not failed:
        for part in msg.walk():
            if part.get_content_type() == "text/plain":
                failed.extend(a.lower() for a in _QMAIL_RECIPIENT.findall(_text(part)))
    return Classification(
        kind=Automated.BOUNCE,
        failed=tuple(dict.fromkeys(failed)),
        bounced_message_id=_returned_message_id(msg),
        reason="a delivery failure notice from the mail system",
    )


def _auto_reply(msg: Message) -> Classification | None:
    auto_submitted = _header(msg, "auto-submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return Classification(kind=Automated.AUTO_REPLY, reason=f"Auto-Submitted: {auto_submitted}")
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if msg.get(name) is not None:
            return Classification(kind=Automated.AUTO_REPLY, reason=f"the {name} header")
    precedence = _header(msg, "precedence").lower()
    if precedence in ("auto_reply", "bulk", "junk"):
        return Classification(kind=Automated.AUTO_REPLY, reason=f"Precedence: {precedence}")
    subject = _header(msg, "subject")
    if _AUTO_SUBJECT.search(subject):
        return Classification(kind=Automated.AUTO_REPLY, reason="an automatic-reply subject")
    return None


def classify(msg: EmailMessage | Message) -> Classification:
    """What ``msg`` is: a bounce, an automatic reply, or a person's message
    (``kind`` ""). Bounces are recognised before automatic replies (a
    delivery report carries Auto-Submitted too)."""
    for check in (_rfc3464, _classic_bounce, _auto_reply):
        try:
            found = check(msg)
        except Exception:  # broken structure: this check cannot tell
            found = None
        if found is not None:
            return found
    return Classification()
