"""The direct load (PostgreSQL): a clean CSV or plain-text file COPYed as
written into the records (affected.models.AffectedRecord), checked on the way.

The file's blocks go, unchanged but for the case and import ids put before
each line, to COPY (FORMAT csv), and to a ``cleanlines.Checker`` in a thread
of this process: while PostgreSQL copies a block the thread checks it (its
work, in Polars, runs without Python's lock), at most ``_AHEAD`` blocks
behind the COPY. The checker says whether
every line was clean, and what the lines hold: the hosts with their lines
(added to the case's AffectedHost rows), the countries, and for the case's
first import the number of distinct addresses (the e-mail level, so that the
count after the import need not read the records again).

``load`` returns None when the file is not clean (any line), when COPY
refuses a value (too long, not UTF-8), or when a host or country does not
pass: the caller rolls back what it wrote and hands the file to the next
reader (``fastload``, then ``parsing``), which reports every bad line with
its number.
"""

import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import psycopg
from django.db import connection

from disclosure.core.errors import ValidationFailed

from .cleanlines import Checker, NotClean, Summary
from .hosts import add_countries, add_hosts
from .models import AffectedRecord
from .parsing import MAX_LINE_BYTES, header_names

# 4 MiB: Polars' cost per block is a third less than at 1 MiB.
_BLOCK = 4 << 20
_AHEAD = 2
# The records' column each file column is COPYed into.
_TARGET = {"domain": "host"}

# Seconds per step of the last load in this process (bench/affected.py prints them).
timings: dict[str, float] = {}


@dataclass(frozen=True)
class Loaded:
    rows: int
    lines: int
    emails: int | None  # distinct addresses, when counted (``count_emails``)


def _header(fmt: str, body: bytes) -> tuple[list[str], bytes, bytes] | None:
    """(column names, line ending, the data lines of ``body``), or None
    when the line readers must say what is wrong with the header."""
    if fmt == "csv":
        head, _, rest = body.partition(b"\n")
        try:
            names = header_names(head.decode("utf-8").rstrip("\r"))
        except (UnicodeDecodeError, ValidationFailed):
            return None
        return names, b"\r\n" if head.endswith(b"\r") else b"\n", rest
    line = body.split(b"\n", 1)[0]
    return ["email" if b"@" in line else "domain"], b"\r\n" if line.endswith(b"\r") else b"\n", body


def load(
    *, reader: Any, fmt: str, case_id: int, batch_id: int, count_emails: bool
) -> Loaded | None:
    """COPY the clean file read through ``reader`` into the case's records
    and add its hosts and countries (see the module); None when it is not
    for the direct load, having possibly written some rows: the caller must
    roll back to before the call. ``count_emails``: count the distinct
    addresses (the case had no records before)."""
    if fmt not in ("csv", "text"):
        return None
    timings.clear()
    start = time.perf_counter()
    first = reader.read(_BLOCK)
    if not first or first.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    if not first.endswith(b"\n"):
        first += reader.readline(MAX_LINE_BYTES)
    first = first.removeprefix(b"\xef\xbb\xbf")  # a byte order mark, COPYed, was data
    header = _header(fmt, first)
    if header is None:
        return None
    names, ending, body = header
    columns = ", ".join(_TARGET.get(n, n) for n in names)
    sql = (
        f"COPY {AffectedRecord._meta.db_table} (case_id, batch_id, {columns}) FROM STDIN "
        f"(FORMAT csv{', HEADER' if fmt == 'csv' else ''}, FORCE_NOT_NULL ({columns}))"
    )
    # Each line starts with the case and the import (a replace in C).
    head = f"{int(case_id)},{int(batch_id)},".encode()
    checker = Checker(names, ending, emails=count_emails)
    pool = ThreadPoolExecutor(1, thread_name_prefix="directload-check")
    try:
        summary = _copy(sql, reader, checker, pool, first, body, head)
        if summary is None:
            return None
        timings["copy and check"] = time.perf_counter() - start
        # The distinct addresses are counted while the hosts are written.
        emails = pool.submit(checker.distinct_emails)
        add_hosts(case_id, [(s, h.name, h.is_ip, h.domain, h.free_mail, n)
                            for s, (h, n) in summary.hosts.items()])  # fmt: skip
        add_countries(case_id, summary.countries)
        distinct = (emails.result() or 0) if count_emails else None
        timings["hosts, addresses"] = time.perf_counter() - start - timings["copy and check"]
    finally:
        pool.shutdown(cancel_futures=True)
    lines = summary.rows + (1 if fmt == "csv" else 0)
    return Loaded(rows=summary.rows, lines=lines, emails=distinct)


def _copy(
    sql: str, reader: Any, checker: Checker, pool: ThreadPoolExecutor, first: bytes,
    body: bytes, head: bytes,
) -> Summary | None:  # fmt: skip
    """COPY the file's blocks (``first``, then the rest of ``reader``), each
    line after ``head``, while ``pool`` checks them (``body``: the first
    block's data lines); what they hold but the distinct addresses, or None
    when the file is not clean or COPY refused a value."""
    prefixed = b"\n" + head
    try:
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            checks: deque[Future] = deque()
            data, block = first, body
            while data:
                checks.append(pool.submit(checker.feed, block))
                copy.write(head + data.replace(b"\n", prefixed).removesuffix(head))
                while checks and (len(checks) > _AHEAD or checks[0].done()):
                    checks.popleft().result()  # NotClean stops the COPY
                data = reader.read(_BLOCK)
                if data and not data.endswith(b"\n"):
                    # At most a line's limit more: a longer line, cut, fails
                    # the check or COPY's column limits, never passes.
                    data += reader.readline(MAX_LINE_BYTES)
                block = data
            result = pool.submit(checker.result, False)  # while PostgreSQL ends the COPY
        while checks:
            checks.popleft().result()
        return result.result()
    except NotClean:
        return None
    except psycopg.Error as e:
        if (e.sqlstate or "")[:2] not in ("22", "23"):
            raise
        return None  # COPY refused a value (too long, not UTF-8): the line readers name it
