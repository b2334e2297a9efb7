"""Parse a raw e-mail message (an ``.eml`` file) into what a communication
records: from, to, cc, date, subject, body and attachments.

Pure: bytes in, a ``ParsedEmail`` out, or ``ValidationFailed`` (field
``eml``) with a message written for the user. Uses only the standard
library's ``email`` package with ``email.policy.default``.
"""

import email
import email.policy
import email.utils
import re
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


# --- received mail: read whatever can be read -----------------------------------

_SURROGATES = re.compile("[\ud800-\udfff]")


def storable(text: object, limit: int | None = None) -> str:
    """``text`` as a string a database column takes: NUL characters dropped,
    lone surrogates (undecodable header bytes) as U+FFFD, cut to ``limit``."""
    value = _SURROGATES.sub("\ufffd", str(text or "").replace("\x00", ""))
    return value[:limit] if limit is not None else value


_DEFAULT_POLICY = "email.policy.default"


class _ReadOnceMessage(EmailMessage):
    """A parsed message that parses each header value once.

    ``email.policy.default`` builds a new header object (a full parse of an
    address list, a Content-Type's parameters) on every ``get``; reading a
    received message asks for the same headers twenty-odd times (the
    fields, the classification, the MIME walk). This class keeps each
    parsed value, keyed by the header's name and raw text, so a header
    changed later is parsed afresh; headers that fail to parse are not
    kept (the same error again). Otherwise exactly ``EmailMessage``.
    """

    def _fetch(self, name: str, value):
        if self.policy is not email.policy.default or type(value) is not str:
            return self.policy.header_fetch_parse(name, value)
        cache = self.__dict__.get("_parsed_headers")
        if cache is None:
            cache = self.__dict__["_parsed_headers"] = {}
        key = (name, value)
        try:
            return cache[key]
        except KeyError:
            parsed = cache[key] = self.policy.header_fetch_parse(name, value)
            return parsed

    def __getstate__(self):
        # Pickled (a message read in another process, ``read_all``) without
        # the parsed values (their classes are made at run time) and with
        # the default policy named, so that it is the same object here.
        state = dict(self.__dict__)
        state.pop("_parsed_headers", None)
        if state.get("policy") is email.policy.default:
            state["policy"] = _DEFAULT_POLICY
        return state

    def __setstate__(self, state):
        if state.get("policy") == _DEFAULT_POLICY:
            state["policy"] = email.policy.default
        self.__dict__.update(state)

    def get(self, name, failobj=None):
        name = name.lower()
        for k, v in self._headers:
            if k.lower() == name:
                return self._fetch(k, v)
        return failobj

    def get_all(self, name, failobj=None):
        name = name.lower()
        values = [self._fetch(k, v) for k, v in self._headers if k.lower() == name]
        return values or failobj


@dataclass(frozen=True)
class ReceivedEmail:
    """A received message as far as it could be read (``read_received``):
    every field best-effort, ``problems`` naming what was wrong."""

    message: EmailMessage | None
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    subject: str
    body: str
    attachments: tuple[ParsedAttachment, ...]
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    problems: tuple[str, ...]

    def header(self, name: str) -> tuple[str, ...]:
        """Every value of header ``name`` as text ("" values dropped)."""
        if self.message is None:
            return ()
        try:
            values = self.message.get_all(name) or []
        except Exception:
            values = [v for k, v in self.message.raw_items() if k.lower() == name.lower()]
        out = []
        for v in values:
            try:
                text = " ".join(str(v).split())
            except Exception:
                continue
            if text:
                out.append(storable(text))
        return tuple(out)


# A Message-ID token: no spaces, controls (NUL) or undecodable bytes.
_MSGID = re.compile("<[^<>\\s\x00-\x1f\x7f\ud800-\udfff]+>")


def message_ids(value: str) -> tuple[str, ...]:
    """The ``<id@host>`` tokens of a Message-ID, In-Reply-To or References value."""
    return tuple(m for m in _MSGID.findall(value or "") if len(m) <= 998)


def _best_effort(problems: list[str], what: str, read, default):
    try:
        return read()
    except Exception as e:  # any malformation: note it, read on
        problems.append(f"{what} could not be read ({type(e).__name__}).")
        return default


def read_received(raw: bytes) -> ReceivedEmail:
    """Read ``raw`` (a received message) as far as it can be read; never raises.

    The same reading as ``parse_eml`` (text/plain preferred, else the HTML
    body as text without script or style; every attached file), but a
    missing or broken part leaves its field empty and is named in
    ``problems`` instead of refusing the message. All text is storable
    (``storable``).
    """
    problems: list[str] = []
    try:
        msg = email.message_from_bytes(
            bytes(raw), _class=_ReadOnceMessage, policy=email.policy.default
        )
    except Exception as e:
        problems.append(f"The message could not be parsed ({type(e).__name__}).")
        return ReceivedEmail(None, "", (), (), None, "", storable(bytes(raw).decode(
            "utf-8", errors="replace")), (), "", "", (), tuple(problems))  # fmt: skip
    if not any(msg.get(h) is not None for h in _MESSAGE_HEADERS):
        problems.append("The message has none of the usual headers (From, To, Date, Subject).")
    sender = _best_effort(
        problems, "The From header", lambda: ", ".join(_addresses(msg, "from")), ""
    )
    if not sender:
        problems.append("The message has no From header.")
    to = _best_effort(problems, "The To header", lambda: _addresses(msg, "to"), ())
    cc = _best_effort(problems, "The Cc header", lambda: _addresses(msg, "cc"), ())
    date = _best_effort(problems, "The Date header", lambda: _date(msg), None)
    subject = _best_effort(
        problems, "The Subject header", lambda: " ".join(str(msg.get("subject") or "").split()), ""
    )
    body, body_part = _best_effort(problems, "The body", lambda: _body(msg), ("", None))
    if body_part is None and not msg.is_multipart():
        body = _best_effort(problems, "The body", lambda: _text_of(msg), "")
    attachments = _best_effort(
        problems, "The attachments", lambda: tuple(_attachments(msg, body_part)), ()
    )
    ids = {}
    for name in ("message-id", "in-reply-to", "references"):
        ids[name] = _best_effort(
            problems, f"The {name} header", lambda n=name: message_ids(str(msg.get(n) or "")), ()
        )
    defects = {type(d).__name__ for part in msg.walk() for d in getattr(part, "defects", [])}
    if defects:
        problems.append("Malformed MIME: " + ", ".join(sorted(defects)) + ".")
    return ReceivedEmail(
        message=msg,
        sender=storable(sender),
        to=tuple(storable(a) for a in to),
        cc=tuple(storable(a) for a in cc),
        date=date,
        subject=storable(subject),
        body=storable(body),
        attachments=tuple(
            ParsedAttachment(storable(a.name, 255) or "attachment", a.content_type, a.content)
            for a in attachments
        ),
        message_id=ids["message-id"][0] if ids["message-id"] else "",
        in_reply_to=ids["in-reply-to"][0] if ids["in-reply-to"] else "",
        references=ids["references"],
        problems=tuple(problems),
    )


def read_all(raws: list[bytes]) -> list[ReceivedEmail]:
    """``read_received`` of each of ``raws``: what a worker process runs
    (its result is pickled back: the parsed messages without their cached
    header values)."""
    return [read_received(raw) for raw in raws]
