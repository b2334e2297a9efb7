"""The PostgreSQL import of CSV and plain-text files: set-based, not line by line.

``parsing`` reads a file a line at a time in Python (~100 µs a line with
the normalisation and the keyed hash); this module gets the same rows with
the per-line work done by PostgreSQL and the expensive Python work done
once per distinct host:

1. the file's lines are COPYed verbatim (blocks of lines, escaped for
   COPY's text format) into a TEMP table that is dropped at commit (or
   rollback), each with its line number (an identity column: COPY keeps
   the order). The SHA-256 is taken on the way;
2. one light query takes the distinct (e-mail host, domain column) pairs
   of the "simple" lines (printable ASCII and tabs, no double quote:
   ``str.split(",")`` is then exactly what Python's csv reader does);
3. Python normalises each distinct host once (``normalize.normalise_host``:
   IDNA, tldextract, free-mail) and COPYs the pairs that are good into a
   TEMP table;
4. one statement splits and checks the simple lines (field count, lengths,
   the address's local part, the country code in ISO 3166-1; what a line
   alone decides),
   joins them to their pair, and inserts the good ones as records (the
   keyed hash computed in SQL as HMAC-SHA-256 from the key's inner and
   outer pads: the digest of ``parsing.email_hash``), adding the batch's
   hosts (with their mentions) and countries to the case's tables; the
   numbers of the other lines go to a TEMP table;
5. every other line (not simple, failed a check, or at a bad host) is read
   back in order and handled by ``parsing.record_line``, the Python reader
   itself: every bad line gets the reason and number the Python path gives
   (once one is bad the caller rolls the whole import back), and an odd
   line (quoted fields, non-ASCII) is read exactly as before and inserted
   by the same statement.

Plain addresses exist only in TEMP tables (the raw lines, the lines read
by Python), which no other session can see and which are
dropped when the import's transaction ends, whatever the minimisation.

``load`` returns None, having written nothing that outlives the transaction, when
the file needs the line-by-line reader from its first byte: JSON Lines,
UTF-16, bytes that are not UTF-8, a NUL byte, a line over ``_LONG`` bytes,
a CSV whose header is not its first line, or a CSV line that leaves a quoted
field open (a field that spans lines). The caller then runs
``parsing.parse`` over it.
"""

import time
from collections.abc import Callable
from typing import Any

from django.db import connection

from disclosure.core.errors import ValidationFailed

from .hashes import hash_sql, hmac_pads
from .models import AffectedCountry, AffectedHost, AffectedRecord
from .normalize import country_codes, normalise_host
from .parsing import _MAX, COLUMNS, MAX_LINE_BYTES, ROW_COLUMNS, BadLine, header_names, record_line

_BLOCK = 1 << 20
_LONG = MAX_LINE_BYTES - 4096  # longer lines: the Python reader's exact reason
_STAGE = "affected_stage"
_PAIRS = "affected_pairs"
_READ = "affected_read"
_OTHERS = "affected_others"
# Printable ASCII and tab, without the double quote; and a blank line.
_NOT_SIMPLE = "[^\t !#-~]"
# A character outside normalize._LOCAL_PART's (the local part of an address).
_NOT_LOCAL = "[^A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]"
_WS = " \t"
_NO_EMAIL = "\x01"  # the eh of a line without an address (no simple line holds it)


def _lit(text: str) -> str:
    """``text`` as an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# Seconds per step of the last load in this process (bench/affected.py prints them).
timings: dict[str, float] = {}


class _Clock:
    def __init__(self) -> None:
        timings.clear()
        self.t = time.perf_counter()

    def lap(self, name: str) -> None:
        t = time.perf_counter()
        timings[name] = t - self.t
        self.t = t


def _escape(text: str) -> str:
    """Lines for COPY's text format: one column, every character kept
    (a trailing CR of a CR LF ending dropped, as the Python reader does)."""
    return (
        text.replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\\r").replace("\t", "\\t")
    )


class _Stage:
    """Copies the file into the stage table; False when it must not."""

    def __init__(self, reader: Any, fmt: str) -> None:
        self.reader, self.fmt = reader, fmt
        self.header: list[str] | None = None
        self.header_line = 0
        self.first = True

    def _block(self) -> bytes | None:
        data = self.reader.read(_BLOCK)
        if data and not data.endswith(b"\n"):
            data += self.reader.readline(_LONG + 1)
        return data

    def _text(self, data: bytes) -> str | None:
        """The block decoded, or None when it needs the Python reader."""
        if b"\0" in data or max(map(len, data.split(b"\n"))) > _LONG:
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if (
            self.fmt == "csv"
            and '"' in text
            and any(line.count('"') % 2 for line in text.split("\n") if '"' in line)
        ):
            return None  # a quoted field spans lines: the Python reader joins them
        return text

    def copy(self, cursor: Any) -> bool:
        cursor.execute(
            f"CREATE TEMP TABLE {_STAGE} (line bigint GENERATED ALWAYS AS IDENTITY, t text) "
            "ON COMMIT DROP"
        )
        data = self._block()
        if not data or data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return False
        text = self._text(data.removeprefix(b"\xef\xbb\xbf"))
        if text is None:
            return False
        if self.fmt == "csv":
            line = text.split("\n", 1)[0].rstrip("\r\n")
            if not line.strip():
                return False
            self.header = header_names(line)  # ImportRefused, as the Python reader
            self.header_line = 1
        with cursor.cursor.copy(f"COPY {_STAGE} (t) FROM STDIN") as copy:
            while True:
                copy.write(_escape(text))
                data = self._block()
                if not data:
                    return True
                text = self._text(data)
                if text is None:
                    return False


def _countries() -> str:
    """The ISO 3166-1 alpha-2 codes as an SQL list (a hashed IN on PostgreSQL)."""
    return ", ".join(_lit(c) for c in sorted(country_codes()))


def _fields(fmt: str, header: list[str] | None) -> tuple[dict[str, str], str]:
    """SQL expressions of each column's raw value over ``f`` (the split
    line) and of the line's own checks."""
    if fmt == "text":
        value = f"btrim(s.t, '{_WS}')"
        email = f"CASE WHEN strpos({value}, '@') > 0 THEN {value} ELSE '' END"
        domain = f"CASE WHEN strpos({value}, '@') > 0 THEN '' ELSE {value} END"
        exprs = {"email": email, "domain": domain}
        return exprs, f"char_length({value}) <= 1000"
    assert header is not None
    exprs = {name: f"f[{header.index(name) + 1}]" for name in COLUMNS if name in header}
    checks = [f"cardinality(f) = {len(header)}"]
    checks += [f"char_length({e}) <= {_MAX.get(n, 1000)}" for n, e in exprs.items()]
    return exprs, " AND ".join(checks)


def _parsed_sql(fmt: str, header: list[str] | None, header_line: int) -> str:
    """A query of every data line: line, st (0 skipped, 1 simple, 2 not),
    ok (the line's own checks passed), local, eh (the address's host part),
    dk (the domain column), country, organization, found_file, found_path."""
    exprs, checks = _fields(fmt, header)

    def col(name: str) -> str:
        return f"btrim({exprs[name]}, '{_WS}')" if name in exprs else "''"

    skip = f"btrim(s.t, '{_WS}') = ''"
    if fmt == "text":
        skip += f" OR btrim(s.t, '{_WS}') LIKE '#%%'"
    org = "''"
    if "organization" in exprs:  # runs of blanks made one space (rare: no regex otherwise)
        o = f"btrim({exprs['organization']}, '{_WS}')"
        org = (
            f"CASE WHEN strpos({o}, '  ') = 0 AND strpos({o}, '\t') = 0 THEN {o} "
            f"ELSE regexp_replace({o}, '[{_WS}]+', ' ', 'g') END"
        )
    # OFFSET 0 keeps each level a level: without it the planner pastes the
    # expressions of a subquery into each use (the split done eight times).
    return f"""
        SELECT line, st, ok AND (e <> '' OR dk <> '')
            AND (e = '' OR (at > 0 AND char_length(local) BETWEEN 1 AND 64
                            AND local !~ {_lit(_NOT_LOCAL)}
                            AND left(local, 1) <> '.' AND strpos(local, '..') = 0))
            AND (c = '' OR upper(c) IN ({_countries()})) AS ok,
            local, eh, dk, upper(c) AS country, o, ff, fp
        FROM (
            SELECT line, st, ok, e, dk, c, o, ff, fp, at,
                CASE WHEN at > 0 THEN left(e, char_length(e) - at) END AS local,
                CASE WHEN at > 0 THEN right(e, at - 1) ELSE {_lit(_NO_EMAIL)} END AS eh
            FROM (
                SELECT line, st, ok, e, dk, c, o, ff, fp,
                    CASE WHEN e <> '' THEN strpos(reverse(e), '@') ELSE 0 END AS at
                FROM (
                    SELECT s.line, CASE WHEN s.t ~ {_lit(_NOT_SIMPLE)} THEN 2 WHEN {skip} THEN 0
                        ELSE 1 END AS st,
                        {checks} AS ok, {col("email")} AS e, {col("domain")} AS dk,
                        {col("country")} AS c, {org} AS o, {col("found_file")} AS ff,
                        {col("found_path")} AS fp
                    FROM (SELECT line, t, string_to_array(t, ',') AS f FROM {_STAGE}
                          WHERE line > {int(header_line)} OFFSET 0) s
                    OFFSET 0
                ) w WHERE st <> 0 OFFSET 0
            ) y OFFSET 0
        ) z OFFSET 0"""


def _keys_sql(fmt: str, header: list[str] | None, header_line: int) -> str:
    """The distinct (eh, dk) of the simple data lines: the same values as
    ``_parsed_sql`` gives them, without the checks (a lighter pass)."""
    if fmt == "text":
        value = f"btrim(t, '{_WS}')"
        email = f"CASE WHEN strpos({value}, '@') > 0 THEN {value} ELSE '' END"
        domain = f"CASE WHEN strpos({value}, '@') > 0 THEN '' ELSE {value} END"
    else:
        assert header is not None

        def part(name: str) -> str:
            if name not in header:
                return "''"
            return f"btrim(split_part(t, ',', {header.index(name) + 1}), '{_WS}')"

        email, domain = part("email"), part("domain")
    return f"""
        SELECT DISTINCT CASE WHEN at > 0 THEN right(e, at - 1) ELSE {_lit(_NO_EMAIL)} END, dk
        FROM (
            SELECT e, dk, CASE WHEN e <> '' THEN strpos(reverse(e), '@') ELSE 0 END AS at
            FROM (
                SELECT {email} AS e, {domain} AS dk FROM {_STAGE}
                WHERE line > {int(header_line)} AND t !~ {_lit(_NOT_SIMPLE)} OFFSET 0
            ) a OFFSET 0
        ) b"""


def _normalised_pairs(pairs: list[tuple[str, str]]) -> tuple[list[tuple], int]:
    """The pairs whose hosts normalise and agree, with the host's fields."""
    good = []

    def host(value: str):
        try:
            return normalise_host(value)
        except ValidationFailed:
            return None

    for eh, dk in pairs:
        if eh == _NO_EMAIL and not dk:
            continue
        h1 = host(eh) if eh != _NO_EMAIL else None
        h2 = host(dk) if dk else None
        if eh != _NO_EMAIL and (h1 is None or h1.is_ip):
            continue
        if dk and (h2 is None or (h1 is not None and h2.domain != h1.domain)):
            continue
        h = h1 or h2
        good.append((eh, dk, h.name, h.is_ip, h.domain, h.free_mail))
    return good, len(pairs) - len(good)


def load(
    *,
    reader: Any,
    fmt: str,
    case_id: int,
    batch_id: int,
    key: bytes,
    keep_email: bool,
    on_item: Callable[[Any], None],
) -> tuple[int, int] | None:
    """Load the file read through ``reader`` (see the module). Calls
    ``on_item`` with every Row or BadLine that Python read (in line order)
    and returns (rows loaded, last line number); once a line is bad, the
    caller must roll back. None when the file needs the Python reader from
    the start (nothing kept)."""
    if fmt not in ("csv", "text"):
        return None
    stage = _Stage(reader, fmt)
    clock = _Clock()
    with connection.cursor() as cursor:
        if not stage.copy(cursor):
            cursor.execute(f"DROP TABLE {_STAGE}")
            return None
        clock.lap("copy lines")
        cursor.execute(_keys_sql(fmt, stage.header, stage.header_line))
        pairs = cursor.fetchall()
        clock.lap("distinct hosts")
        good, _ = _normalised_pairs(pairs)
        clock.lap("normalise hosts")
        cursor.execute(
            f"CREATE TEMP TABLE {_PAIRS} (eh text, dk text, host text, is_ip bool, "
            "domain text, free_mail bool) ON COMMIT DROP"
        )
        with cursor.cursor.copy(f"COPY {_PAIRS} FROM STDIN") as copy:
            for row in good:
                copy.write_row(row)
        cursor.execute(f"CREATE UNIQUE INDEX ON {_PAIRS} (eh, dk)")
        cursor.execute(f"ANALYZE {_PAIRS}")
        cursor.execute(f"CREATE TEMP TABLE {_OTHERS} (line bigint) ON COMMIT DROP")
        cursor.execute(
            f"CREATE TEMP TABLE {_READ} (line bigint, email text, host text, is_ip bool, "
            "domain text, free_mail bool, organization text, country text, found_file text, "
            "found_path text) ON COMMIT DROP"
        )
        # The stage's row estimates after regular expressions are guesses (a
        # nested loop over the pairs would be quadratic); the rows are held
        # once for the five inserts that read them.
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute("SET LOCAL work_mem = '256MB'")
        parsed = _parsed_sql(fmt, stage.header, stage.header_line)
        source = f"""
            SELECT p.line, lower(p.local) || '@' || h.host AS email, h.host, h.is_ip, h.domain,
                h.free_mail, p.o AS organization, p.country, p.ff AS found_file,
                p.fp AS found_path, p.st = 1 AND coalesce(p.ok, false) AND h.eh IS NOT NULL
            FROM ({parsed}) p LEFT JOIN {_PAIRS} h ON h.eh = p.eh AND h.dk = p.dk"""
        rows, last, others = _insert(cursor, source, case_id, batch_id, key, keep_email)
        clock.lap("insert")
        if others:
            bad, top = _read_others(cursor, fmt, stage.header, key, on_item)
            last = max(last, top)
            if bad:
                return 0, last
            more, _, _ = _insert(cursor, f"SELECT *, true FROM {_READ}", case_id, batch_id, key,
                                 keep_email)  # fmt: skip
            rows += more
            clock.lap("python lines")
        cursor.execute("RESET enable_nestloop")
        cursor.execute("RESET work_mem")
        for table in (_STAGE, _PAIRS, _OTHERS, _READ):
            cursor.execute(f"DROP TABLE {table}")
        return rows, last


def _read_others(
    cursor: Any, fmt: str, header: list[str] | None, key: bytes, on_item: Callable
) -> tuple[bool, int]:
    """Read the lines SQL did not take with the Python reader and keep its
    rows in the READ table. (Whether a line was bad, the last line read.)"""
    cursor.execute(
        f"SELECT s.line, s.t FROM {_OTHERS} o JOIN {_STAGE} s ON s.line = o.line ORDER BY s.line"
    )
    lines = cursor.fetchall()
    bad, last = False, 0
    index = {name: i for i, name in enumerate(ROW_COLUMNS)}
    columns = ("line", "email", "host", "is_ip", "domain", "free_mail", "organization",
               "country", "found_file", "found_path")  # fmt: skip
    with cursor.cursor.copy(f"COPY {_READ} FROM STDIN") as copy:
        for number, text in lines:
            item = record_line(number, text.rstrip("\r\n"), fmt, header, key=key,
                               keep_email=True)  # fmt: skip
            if item is None:
                continue
            on_item(item)
            last = number
            if isinstance(item, BadLine):
                bad = True
            elif not bad:
                copy.write_row([item[index[c]] for c in columns])
    return bad, last


def _insert(
    cursor: Any, source: str, case_id: int, batch_id: int, key: bytes, keep_email: bool
) -> tuple[int, int, int]:
    """Insert the good rows of ``source`` (the records' columns and whether
    the row is good), extend the case's hosts and countries, and note the other
    lines in the OTHERS table: (rows inserted, last line, other lines)."""
    ipad, opad = hmac_pads(key)
    records = AffectedRecord._meta.db_table
    hosts, countries = AffectedHost._meta.db_table, AffectedCountry._meta.db_table
    cursor.execute(
        f"""
        WITH src (line, email, host, is_ip, domain, free_mail, organization, country,
                  found_file, found_path, good) AS ({source.replace("%", "%%")}),
        rows AS MATERIALIZED (
            SELECT src.*, CASE WHEN good AND email IS NOT NULL AND email <> ''
                THEN {hash_sql("email")} ELSE '' END AS email_hash
            FROM src
        ), ins AS (
            INSERT INTO {records} (case_id, batch_id, email, email_hash, host, organization,
                country, found_file, found_path)
            SELECT %(case)s, %(batch)s,
                CASE WHEN %(keep)s THEN coalesce(email, '') ELSE '' END, email_hash, host,
                organization, country, found_file, found_path
            FROM rows WHERE good ORDER BY line
        ), h AS (
            INSERT INTO {hosts} (case_id, spelling, host, is_ip, domain, free_mail, mentions)
            SELECT %(case)s, host, host, bool_or(is_ip), max(domain), bool_or(free_mail),
                count(*)
            FROM rows WHERE good GROUP BY host
            ON CONFLICT (case_id, spelling) DO UPDATE
                SET mentions = {hosts}.mentions + excluded.mentions
        ), c AS (
            INSERT INTO {countries} (case_id, country)
            SELECT DISTINCT %(case)s, country FROM rows WHERE good AND country <> ''
            ON CONFLICT DO NOTHING
        ), o AS (
            INSERT INTO {_OTHERS} (line) SELECT line FROM rows WHERE NOT good
        )
        SELECT count(*) FILTER (WHERE good), coalesce(max(line) FILTER (WHERE good), 0),
            count(*) FILTER (WHERE NOT good)
        FROM rows""",
        {"opad": opad, "ipad": ipad, "case": case_id, "batch": batch_id, "keep": keep_email},
    )
    rows, last, others = cursor.fetchone()
    return int(rows), int(last), int(others)
