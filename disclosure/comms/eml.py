"""Parse a raw e-mail message (an ``.eml`` file) into what a communication
records: from, to, cc, date, subject, body and attachments.

Pure: bytes in, a ``ParsedEmail`` out, or ``ValidationFailed`` (field
``eml``) with a message written for the user. Uses only the standard
library's ``email`` package with ``email.policy.default``.
"""

import email
import email.policy
import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import HeaderParseError, MessageError
from email.message import EmailMessage
from html.parser import HTMLParser

from disclosure.core.errors import ValidationFailed

FIELD = "eml"
# Headers any real message carries; a file with none of them is not a message.
_MESSAGE_HEADERS = ("from", "to", "date", "subject", "message-id", "received", "mime-version")


@dataclass(frozen=True)
class ParsedAttachment:
    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class ParsedEmail:
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime  # aware (UTC when the message gave no offset)
    subject: str
    body: str
    attachments: tuple[ParsedAttachment, ...]
    message_id: str = ""


class _TextExtractor(HTMLParser):
    """HTML to plain text: the text nodes, blocks on their own lines, no
    script or style."""

    _BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in self._BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    def text(self) -> str:
        lines = [" ".join(line.split()) for line in "".join(self.parts).splitlines()]
        out: list[str] = []
        for line in lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip()


def html_to_text(html: str) -> str:
    """The readable text of an HTML body."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    return parser.text()


def _fail(message: str) -> ValidationFailed:
    return ValidationFailed(message, field=FIELD)


def _addresses(msg: EmailMessage, name: str) -> tuple[str, ...]:
    out: list[str] = []
    for header in msg.get_all(name) or []:
        addresses = getattr(header, "addresses", None)
        if addresses:
            out.extend(str(a) for a in addresses if str(a).strip())
        elif str(header).strip():
            out.append(str(header).strip())
    return tuple(out)


def _text_of(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, ValueError, AssertionError):
        raw = part.get_payload(decode=True) or b""
        content = raw.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else ""


def _body(msg: EmailMessage) -> tuple[str, EmailMessage | None]:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return "", None
    text = _text_of(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text, part


def _attachments(msg: EmailMessage, body_part: EmailMessage | None) -> list[ParsedAttachment]:
    out = []
    for i, part in enumerate(msg.walk(), start=1):
        if part is body_part or part.is_multipart():
            continue
        name = part.get_filename()
        if part.get_content_disposition() != "attachment" and not name:
            continue
        content = part.get_payload(decode=True)
        if not content:
            continue
        out.append(
            ParsedAttachment(
                name=(name or f"attachment-{i}").strip() or f"attachment-{i}",
                content_type=part.get_content_type(),
                content=content,
            )
        )
    return out


def _date(msg: EmailMessage) -> datetime:
    raw = msg.get("date")
    if raw is None or not str(raw).strip():
        raise _fail("The message has no Date header: say when it was sent.")
    value = getattr(raw, "datetime", None)
    if value is None:
        try:
            value = email.utils.parsedate_to_datetime(str(raw))
        except (TypeError, ValueError, IndexError) as e:
            raise _fail(f"The message's Date header {str(raw)!r} is not a date.") from e
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def parse_eml(raw: bytes) -> ParsedEmail:
    """Parse ``raw`` (the bytes of an .eml file).

    Guarantees a sender, an aware date, the body as text (text/plain
    preferred, else the HTML body stripped to text) and every attached file
    with content. Raises ValidationFailed (field ``eml``) for something that
    is not an e-mail message or lacks a From or Date header.
    """
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise _fail("The .eml file is empty.")
    try:
        msg = email.message_from_bytes(bytes(raw), policy=email.policy.default)
        if not any(msg.get(h) is not None for h in _MESSAGE_HEADERS):
            raise _fail("This file is not an e-mail message (no message headers found).")
        from_ = _addresses(msg, "from")
        if not from_:
            raise _fail("The message has no From header: say who sent it.")
        date = _date(msg)
        body, body_part = _body(msg)
        return ParsedEmail(
            sender=", ".join(from_),
            to=_addresses(msg, "to"),
            cc=_addresses(msg, "cc"),
            date=date,
            subject=" ".join(str(msg.get("subject") or "").split()),
            body=body,
            attachments=tuple(_attachments(msg, body_part)),
            message_id=str(msg.get("message-id") or "").strip(),
        )
    except ValidationFailed:
        raise
    except (MessageError, HeaderParseError, LookupError, ValueError, TypeError, IndexError) as e:
        raise _fail(f"The .eml file could not be read as an e-mail message ({e}).") from e
