"""Checking that a file's lines are clean, a block of bytes at a time, and
what they hold: the direct load's reader (affected.directload).

A file is clean when every data line, as bytes, is what the line readers
(``parsing``) would accept unchanged: no quotes, tabs, control characters,
blank lines, two spaces in a row or surrounding spaces; an address is an
ASCII local part (at most 64 characters, dots only between atoms) and a
host; a country is two capital letters. Then COPY's CSV reading gives each field
exactly as Python's csv reader would.

One regular expression a block checks every line (the C code of ``re``) and
takes from each its key: the bytes from the address's ``@`` (or the first
such column) to the last of the address, domain and country columns, so that
a line costs one bytes object. Each distinct key is read back once: its host
normalised (``normalize``) and required to be its own lower case (so that
the lower case of each address is its normalised form), an address's host
not an IP address, the domain column naming the address's registrable
domain, a country assigned. ``Checker.result`` gives the hosts with their
lines, the countries and, when asked, the number of distinct lower-cased
addresses; a file that is not clean raises ``NotClean``.
"""

import re
from collections import Counter
from dataclasses import dataclass

from disclosure.core.errors import ValidationFailed

from .normalize import Host, country_codes, normalise_host

_ATOM = rb"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]++"
_LOCAL = rb"(?=[^@,\n]{1,64}@)" + _ATOM + rb"(?:\." + _ATOM + rb")*+"
_HOST = rb"[A-Za-z0-9._:-]{1,253}+"
# A field without quotes, commas, tabs or other control characters, not
# starting or ending with a space (two spaces in a row: a byte search).
_TEXT = rb"(?:[^\x00-\x20\x7f,\"][^\x00-\x1f\x7f,\"]*+(?<! ))?"
# Each column's field, without groups.
FIELDS = {
    "email": rb"(?:" + _LOCAL + rb"@" + _HOST + rb")?",
    "domain": rb"(?:" + _HOST + rb")?",
    "country": rb"(?:[A-Z]{2})?",  # assigned: checked per distinct key
    "organization": _TEXT,
    "found_file": _TEXT,
    "found_path": _TEXT,
}
# The columns a key holds.
_KEYED = ("email", "domain", "country")


class NotClean(Exception):
    """The file (or a value in it) is not for the direct load."""


@dataclass(frozen=True)
class Summary:
    rows: int
    hosts: dict[str, tuple[Host, int]]  # per spelling: its host, its lines
    countries: set[str]
    emails: int | None  # distinct lower-cased addresses, when collected


class _Lines:
    """The data lines' pattern for the header's columns and line ending."""

    def __init__(self, names: list[str], ending: bytes) -> None:
        self.ending = ending
        keyed = [i for i, n in enumerate(names) if n in _KEYED]
        first, last = keyed[0], keyed[-1]
        fields = [FIELDS[n] for n in names]
        if names[first] == "email":  # the local part outside the key
            fields[first] = rb"(?:" + _LOCAL + rb"(?=@))?((?:@" + _HOST + rb")?"
        else:
            fields[first] = rb"(" + fields[first]
        fields[last] += rb")"
        self.pattern = re.compile(rb"^" + rb",".join(fields) + re.escape(ending), re.M)
        span = names[first : last + 1]
        # Where the address ("@host"), the domain and the country are in a key.
        self.at, self.domain, self.country = (span.index(n) if n in span else None for n in _KEYED)

    def keys(self, block: bytes) -> list[bytes]:
        """The block's keys, one a line; NotClean when a line does not match."""
        if not block.endswith(b"\n"):
            block += self.ending
        found = self.pattern.findall(block)
        # (A carriage return cannot hide in a field: no field's class holds it.)
        if len(found) != block.count(b"\n") or b"  " in block:
            raise NotClean
        return found


def _normalised(spelling: str) -> Host:
    """The host a lower-cased spelling names, which must be itself."""
    try:
        host = normalise_host(spelling)
    except ValidationFailed:
        raise NotClean from None
    if host.name != spelling:
        raise NotClean
    return host


class Checker:
    """Fed data lines a block at a time (blocks end at a line's end, the
    last one may not); ``result`` says what they hold (see the module).
    ``emails``: count the distinct lower-cased addresses too."""

    def __init__(self, names: list[str], ending: bytes, emails: bool = False) -> None:
        self.lines = _Lines(names, ending)
        self.codes = country_codes()
        self.lines_of: Counter = Counter()
        self.spelling_of: dict[bytes, str] = {}
        self.pairs: dict[tuple[bytes, bytes], str] = {}
        self.hosts: dict[str, Host] = {}
        self.countries: set[bytes] = set()
        self.rows = 0
        self.emails: set[bytes] | None = None
        if emails and "email" in names:
            skip = rb"[^,\n]*," * names.index("email")
            self.address = re.compile(rb"^" + skip + rb"([^,\r\n]*)", re.M)
            self.emails = set()

    def feed(self, block: bytes) -> None:
        found = self.lines.keys(block)
        self.rows += len(found)
        self.lines_of.update(found)  # a list: counted by C code
        for key in set(found).difference(self.spelling_of):  # iterates the block's keys
            self._read(key)
        if self.emails is not None:
            self.emails.update(self.address.findall(block.lower()))

    def _read(self, key: bytes) -> None:
        parts, lines = key.split(b","), self.lines
        # The address's host: after its "@" ("@host" when the key starts there).
        at = parts[lines.at].rpartition(b"@")[2] if lines.at is not None else b""
        domain = parts[lines.domain] if lines.domain is not None else b""
        spelling = self.pairs.get((at, domain))
        if spelling is None:
            spelling = self.pairs[at, domain] = self._spelling(at, domain)
        self.spelling_of[key] = spelling
        if lines.country is not None and parts[lines.country] not in self.countries:
            country = parts[lines.country]
            if country and country.decode() not in self.codes:
                raise NotClean
            self.countries.add(country)

    def _host(self, spelling: str) -> Host:
        host = self.hosts.get(spelling)
        if host is None:
            host = self.hosts[spelling] = _normalised(spelling)
        return host

    def _spelling(self, at: bytes, domain: bytes) -> str:
        spelling = (at or domain).decode().lower()
        if not spelling:
            raise NotClean  # neither an address nor a domain
        host = self._host(spelling)
        if at and host.is_ip:
            raise NotClean
        if at and domain and self._host(domain.decode().lower()).domain != host.domain:
            raise NotClean
        return spelling

    def result(self) -> Summary:
        mentions: dict[str, int] = {}
        for key, n in self.lines_of.items():
            spelling = self.spelling_of[key]
            mentions[spelling] = mentions.get(spelling, 0) + n
        emails = None
        if self.emails is not None:
            self.emails.discard(b"")
            emails = len(self.emails)
        return Summary(
            rows=self.rows,
            hosts={s: (self.hosts[s], n) for s, n in mentions.items()},
            countries={c.decode() for c in self.countries} - {""},
            emails=emails,
        )
