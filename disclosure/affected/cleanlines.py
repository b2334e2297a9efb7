"""Checking that a file's lines are clean, a block of bytes at a time, and
what they hold: the direct load's reader (affected.directload).

A file is clean when every data line, as bytes, is what the line readers
(``parsing``) would accept unchanged: no quotes, control characters or
blank lines; the columns the header names, no more, no fewer; an address is
an ASCII local part (at most 64 characters, dots only between atoms) and a
host; a domain is a host's characters; a country is two capital letters; an
organization is words one space apart, and a file or path has no whitespace
at its ends (the line readers make any run of whitespace in an organization
one space, and strip the others). Then COPY's CSV reading gives each field
exactly as Python's csv reader would.

A block's line feeds, carriage returns and commas are counted here (a field
too many or too few, a blank line, a stray carriage return). The rest is
Polars', whose CSV reader and column expressions run in Rust without
Python's lock, not a Python loop a line: each column's values against its
pattern (``PATTERNS``), the lines per (address host, domain column) pair as
written, the countries, and for a case's first import the distinct
lower-cased addresses.

Each distinct pair is read back once here: its host normalised
(``normalize``) and required to be its own lower case (so that the lower
case of each address is its normalised form), an address's host not an IP
address, the domain column naming the address's registrable domain; each
distinct country must be assigned. ``Checker.result`` gives the hosts with
their lines, the countries and, when asked, the number of distinct
addresses; a file that is not clean raises ``NotClean``.

Polars is imported when a checker is made, not with this module: the web
processes that import the importer never check a file. It runs one thread
(POLARS_MAX_THREADS, unless set): the checker runs beside PostgreSQL's COPY
on the same machine, where more threads only take turns with it (a million
rows took about 1.0 s of processor time with one thread, 1.3 s with two).
"""

import os
from dataclasses import dataclass
from typing import Any

from disclosure.core.errors import ValidationFailed

from .normalize import Host, country_codes, normalise_host

_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_HOST = r"[A-Za-z0-9._:-]{1,253}"
# A character of text: not whitespace (Rust's \s, Unicode's White_Space, the
# characters Python's str.split and str.strip take), a quote or a control
# character.
_CHAR = r'[^\s"\p{Cc}]'
# The whole of a non-empty value, per column (Rust's regular expressions).
PATTERNS = {
    "email": rf"^{_ATOM}(?:\.{_ATOM})*@{_HOST}$",
    "domain": rf"^{_HOST}$",
    "country": r"^[A-Z]{2}$",  # assigned: checked per distinct value
    "organization": rf"^{_CHAR}+(?: {_CHAR}+)*$",  # words, one space apart
    "found_file": rf'^{_CHAR}(?:[^"\p{{Cc}}]*{_CHAR})?$',  # no whitespace at the ends
    "found_path": rf'^{_CHAR}(?:[^"\p{{Cc}}]*{_CHAR})?$',
}
LOCAL_MAX = 64


class NotClean(Exception):
    """The file (or a value in it) is not for the direct load."""


@dataclass(frozen=True)
class Summary:
    rows: int
    hosts: dict[str, tuple[Host, int]]  # per spelling: its host, its lines
    countries: set[str]
    emails: int | None  # distinct lower-cased addresses, when collected


def _normalised(spelling: str) -> Host:
    """The host a lower-cased spelling names, which must be itself."""
    try:
        host = normalise_host(spelling)
    except ValidationFailed:
        raise NotClean from None
    if host.name != spelling:
        raise NotClean
    return host


def count_lines(block: bytes, crlf: bool) -> int:
    """The number of lines in ``block`` (its last line may lack its ending);
    NotClean when a carriage return does not end a line (any in a LF file),
    or a line feed in a CR LF file follows none."""
    lines = block.count(b"\n")
    if crlf:
        if block.count(b"\r") != lines or block.count(b"\r\n") != lines:
            raise NotClean
    elif b"\r" in block:
        raise NotClean
    return lines if block.endswith(b"\n") else lines + 1


class Checker:
    """Fed data lines a block at a time (blocks end at a line's end, the
    last one may not); ``result`` says what they hold (see the module).
    ``emails``: count the distinct lower-cased addresses too."""

    def __init__(self, names: list[str], ending: bytes, emails: bool = False) -> None:
        os.environ.setdefault("POLARS_MAX_THREADS", "1")
        import polars as pl

        self.pl = pl
        self.names, self.crlf = names, ending == b"\r\n"
        self.codes = country_codes()
        self.rows = 0
        self.spelling_of: dict[tuple[str, str], str] = {}
        self.hosts: dict[str, Host] = {}
        self.countries: set[str] = set()
        self.known: Any = None  # the pairs read back so far (a DataFrame)
        self.pair_lines: list[Any] = []  # per block: its pairs and their lines
        self.email_parts: list[Any] | None = [] if emails and "email" in names else None
        self.valid = self._valid()
        # The pairs as written (lower-cased per distinct pair, in _spelling).
        email = pl.col("email") if "email" in names else pl.lit("")
        host = email.str.slice(email.str.find("@", literal=True) + 1)
        self.pair = [
            pl.when(email == "").then(pl.lit("")).otherwise(host).alias("at"),
            (pl.col("domain") if "domain" in names else pl.lit("")).alias("domain"),
        ]

    def _valid(self) -> Any:
        """One expression, true when every value of the block is clean."""
        pl, checks = self.pl, []
        for name in self.names:
            column = pl.col(name)
            checks.append((column == "") | column.str.contains(PATTERNS[name]))
            if name == "email":
                at = column.str.find("@", literal=True)
                checks.append((column == "") | (at <= LOCAL_MAX))
        return pl.all_horizontal(checks).all()

    def feed(self, block: bytes) -> None:
        pl = self.pl
        if not block:
            raise NotClean  # no data lines: the line readers say so
        lines = count_lines(block, self.crlf)
        if block.count(b",") != lines * (len(self.names) - 1):
            raise NotClean  # a field too many or too few, a blank line (COPY refuses them too)
        try:
            frame = pl.read_csv(
                block, has_header=False, new_columns=self.names,
                schema=dict.fromkeys(self.names, pl.String), quote_char=None,
                empty_string_is_null=False, raise_if_empty=False,
            )  # fmt: skip
            if frame.height != lines or not frame.select(self.valid).item():
                raise NotClean
        except pl.exceptions.PolarsError:
            raise NotClean from None  # not UTF-8, a field too many
        self.rows += lines
        pairs = frame.lazy().select(self.pair).group_by("at", "domain").len().collect()
        self.pair_lines.append(pairs)
        new = pairs if self.known is None else pairs.join(self.known, on=["at", "domain"],
                                                           how="anti")  # fmt: skip
        if new.height:
            for at, domain in new.select("at", "domain").iter_rows():
                self.spelling_of[at, domain] = self._spelling(at, domain)
            new = new.select("at", "domain")
            self.known = new if self.known is None else pl.concat([self.known, new])
        if "country" in self.names:
            for country in frame.get_column("country").unique().to_list():
                if country not in self.countries:
                    if country and country not in self.codes:
                        raise NotClean
                    self.countries.add(country)
        if self.email_parts is not None:
            self.email_parts.append(frame.get_column("email").str.to_lowercase().unique())

    def _host(self, spelling: str) -> Host:
        host = self.hosts.get(spelling)
        if host is None:
            host = self.hosts[spelling] = _normalised(spelling)
        return host

    def _spelling(self, at: str, domain: str) -> str:
        """The spelling a record with this address host and domain column
        is at; NotClean when either does not pass (see the module)."""
        spelling = (at or domain).lower()
        if not spelling:
            raise NotClean  # neither an address nor a domain (or a blank line)
        host = self._host(spelling)
        if at and host.is_ip:
            raise NotClean
        if at and domain and self._host(domain.lower()).domain != host.domain:
            raise NotClean
        return spelling

    def distinct_emails(self) -> int | None:
        """The number of distinct lower-cased addresses fed, when counted."""
        if self.email_parts is None:
            return None
        addresses = self.pl.concat(self.email_parts) if self.email_parts else self.pl.Series([""])
        return addresses.n_unique() - int((addresses == "").any())

    def result(self, emails: bool = True) -> Summary:
        """What the lines fed hold (the distinct addresses only if ``emails``)."""
        pl = self.pl
        mentions: dict[str, int] = {}
        if self.pair_lines:
            pairs = pl.concat(self.pair_lines).group_by("at", "domain").agg(pl.col("len").sum())
            for at, domain, n in pairs.iter_rows():
                spelling = self.spelling_of[at, domain]
                mentions[spelling] = mentions.get(spelling, 0) + n
        return Summary(
            rows=self.rows,
            hosts={s: (self.hosts[s], n) for s, n in mentions.items()},
            countries=self.countries - {""},
            emails=self.distinct_emails() if emails else None,
        )
