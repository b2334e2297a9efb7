"""Reading an affected-records file, streamed, one line at a time.

Formats:
- ``csv``: a header row naming columns among ``COLUMNS`` (``host`` is
  another name of ``domain``, ``file``/``path`` of ``found_file``/
  ``found_path``), with ``email`` or ``domain``; then one record a line
  (a quoted field may span lines: the record is numbered by its first
  line, and a field still open after ``MAX_LINE_BYTES`` or at the end of
  the file is a bad line);
- ``text``: one e-mail address, host name, domain or IP address a line;
- ``jsonl``: one JSON object a line with the same keys as the CSV columns.

UTF-8, with or without a byte-order mark; CR LF or LF; blank lines (and in
plain text, lines starting with ``#``) are skipped. A line longer than
``MAX_LINE_BYTES`` is reported and skipped without being held in memory.

``parse`` yields, per line, a ``Row`` or a ``BadLine`` (its number, counting
from 1 as an editor does, and the reason). A file it cannot read at all
(UTF-16, an unusable CSV header) raises ``ImportRefused``.
"""

import csv
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from disclosure.core.errors import ValidationFailed

from .normalize import country_codes, normalise_email, normalise_host

MAX_LINE_BYTES = 64 * 1024
COLUMNS = ("email", "domain", "organization", "country", "found_file", "found_path")
_ALIASES = {"host": "domain", "file": "found_file", "path": "found_path"}
_MAX = {"organization": 300, "found_file": 1000, "found_path": 1000}
_COUNTRY = re.compile(r"^[A-Za-z]{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BOM = b"\xef\xbb\xbf"


class ImportRefused(ValidationFailed):
    """The whole file cannot be read (its encoding, its header)."""

    code = "import_refused"


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int
    reason: str


# (line, email, email_hash, host, is_ip, domain, free_mail, organization,
#  country, found_file, found_path): the columns COPY writes, in order.
Row = tuple[int, str, str, str, bool, str, bool, str, str, str, str]
ROW_COLUMNS = (
    "line", "email", "email_hash", "host", "is_ip", "domain", "free_mail", "organization",
    "country", "found_file", "found_path",
)  # fmt: skip


def email_hash(key: bytes, address: str) -> str:
    """The keyed hash kept of a normalised address: HMAC-SHA-256, hex."""
    return hmac.digest(key, address.encode("utf-8"), hashlib.sha256).hex()


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None, str]]:
    """(number, text or None, reason) per physical line, decoded."""
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if number == 1:
            if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise ImportRefused(
                    "The file is UTF-16: save it as UTF-8 (with or without a BOM).", field="file"
                )
            raw = raw.removeprefix(_BOM)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            size = len(raw)
            while True:  # skip to the end of the line, a block at a time
                more = stream.readline(1 << 20)
                size += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield number, None, f"the line is {size:,} bytes long (at most {MAX_LINE_BYTES:,})"
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            yield number, None, f"not UTF-8 (byte 0x{raw[e.start]:02x} at byte {e.start + 1})"
            continue
        yield number, text.rstrip("\r\n"), ""


def _open_quote(text: str) -> bool:
    """Whether a CSV line leaves a quoted field open (an odd number of
    double quotes: a doubled quote inside a field counts two)."""
    return text.count('"') % 2 == 1


def _csv_records(
    lines: Iterator[tuple[int, str | None, str]],
) -> Iterator[tuple[int, str | None, str]]:
    """``_lines`` with the physical lines of a record whose quoted field
    spans lines joined by newlines, numbered by its first line; a record whose
    field is still open after ``MAX_LINE_BYTES`` or at the end of the file,
    or that takes in a line ``_lines`` could not read, is one bad line."""
    for number, text, reason in lines:
        if text is None or not _open_quote(text):
            yield number, text, reason
            continue
        parts, size, problem, still_open = [text], len(text.encode("utf-8")), "", True
        while still_open:
            more = next(lines, None)
            if more is None:
                problem = "a quoted field opened on this line is never closed"
                break
            if more[1] is None:
                problem = f"a quoted field opened on this line runs into line {more[0]}: {more[2]}"
                break
            parts.append(more[1])
            size += len(more[1].encode("utf-8")) + 1
            still_open = still_open != _open_quote(more[1])
            if still_open and size > MAX_LINE_BYTES:
                problem = (
                    f"a quoted field opened on this line is still open after "
                    f"{MAX_LINE_BYTES:,} bytes"
                )
                break
        if problem:
            yield number, None, problem
        else:
            yield number, "\n".join(parts), ""


def _record(
    number: int, values: dict[str, Any], key: bytes, keep_email: bool, checked: str | None = None
) -> Row:
    """One row from its named values; ValidationFailed saying what is wrong.
    ``checked``: the line the values come from, checked for control
    characters once (else each value is)."""
    email = values.get("email") or ""
    domain = values.get("domain") or ""
    for name, value in values.items():
        if not isinstance(value, str):
            raise ValidationFailed(f"{name} must be text, not {type(value).__name__}")
        if len(value) > _MAX.get(name, 1000):
            raise ValidationFailed(f"{name} is longer than {_MAX.get(name, 1000)} characters")
        if checked is None and _CONTROL.search(value):
            raise ValidationFailed(f"{name} holds a control character")
    if checked is not None and _CONTROL.search(checked):
        raise ValidationFailed("the line holds a control character")
    if not email.strip() and not domain.strip():
        raise ValidationFailed("neither an e-mail address nor a domain")
    address, digest = "", ""
    if email.strip():
        address, host = normalise_email(email)
        digest = email_hash(key, address)
        if domain.strip() and normalise_host(domain).domain != host.domain:
            raise ValidationFailed(
                f"the address is at {host.domain or host.name}, the domain column says {domain!r}"
            )
    else:
        host = normalise_host(domain)
    country = (values.get("country") or "").strip()
    if country and not _COUNTRY.match(country):
        raise ValidationFailed(f"country {country!r} is not a two-letter ISO 3166 code")
    if country and country.upper() not in country_codes():
        raise ValidationFailed(f"country {country!r} is not an assigned ISO 3166-1 alpha-2 code")
    return (
        number, address if keep_email else "", digest, host.name, host.is_ip, host.domain,
        host.free_mail, " ".join((values.get("organization") or "").split()), country.upper(),
        (values.get("found_file") or "").strip(), (values.get("found_path") or "").strip(),
    )  # fmt: skip


def header_names(text: str) -> list[str]:
    names = [_ALIASES.get(n.strip().lower(), n.strip().lower()) for n in next(csv.reader([text]))]
    unknown = [n for n in names if n not in COLUMNS]
    if unknown:
        raise ImportRefused(
            f"Unknown column {unknown[0]!r} in the header: use {', '.join(COLUMNS)}.",
            field="file",
        )
    if len(set(names)) != len(names):
        raise ImportRefused("A column is named twice in the header.", field="file")
    if "email" not in names and "domain" not in names:
        raise ImportRefused("The header needs an email or a domain column.", field="file")
    return names


def record_line(
    number: int, text: str, fmt: str, header: list[str] | None, *, key: bytes, keep_email: bool
) -> Row | BadLine | None:
    """One decoded data line (its line ending removed; not the CSV header)
    as ``parse`` reads it: a Row, a BadLine, or None for a line it skips
    (blank, a plain-text comment). ``header``: the CSV header's names."""
    if not text.strip():
        return None
    try:
        if fmt == "text":
            value = text.strip()
            if value.startswith("#"):
                return None
            field = "email" if "@" in value else "domain"
            return _record(number, {field: value}, key, keep_email, value)
        if fmt == "jsonl":
            try:
                obj = json.loads(text)
            except ValueError as e:
                raise ValidationFailed(f"not JSON ({e.msg} at column {e.colno})") from None
            if not isinstance(obj, dict):
                raise ValidationFailed("not a JSON object")
            obj = {_ALIASES.get(k, k): v for k, v in obj.items()}
            unknown = [k for k in obj if k not in COLUMNS]
            if unknown:
                raise ValidationFailed(f"unknown key {unknown[0]!r}")
            return _record(number, {k: v for k, v in obj.items() if v is not None}, key,
                           keep_email)  # fmt: skip
        assert header is not None
        try:
            fields = next(csv.reader([text], strict=True))
        except csv.Error as e:
            raise ValidationFailed(f"not CSV ({e})") from None
        if len(fields) != len(header):
            raise ValidationFailed(f"{len(fields)} fields where the header has {len(header)}")
        return _record(number, dict(zip(header, fields, strict=True)), key, keep_email, text)
    except ImportRefused:
        raise
    except ValidationFailed as e:
        return BadLine(number, e.message)


def parse(stream: IO[bytes], fmt: str, *, key: bytes, keep_email: bool) -> Iterator[Row | BadLine]:
    """Each record line of ``stream`` in format ``fmt`` as a Row, or a
    BadLine with its reason; blank lines yield nothing. ``key`` hashes the
    addresses; ``keep_email`` False leaves the address itself out."""
    if fmt not in ("csv", "text", "jsonl"):
        raise ImportRefused(f"Unknown format {fmt!r}: use csv, text or jsonl.", field="format")
    header: list[str] | None = None
    lines = _lines(stream)
    if fmt == "csv":
        lines = _csv_records(lines)
    for number, text, reason in lines:
        if text is None:
            yield BadLine(number, reason)
            continue
        if not text.strip():
            continue
        if fmt == "csv" and header is None:
            header = header_names(text)
            continue
        item = record_line(number, text, fmt, header, key=key, keep_email=keep_email)
        if item is not None:
            yield item
