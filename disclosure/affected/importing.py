"""Importing affected records: all of a file or nothing.

``start_import`` (staff UI, API) stores the uploaded file privately and
records a waiting AffectedImport; the interface then queues
``affected.tasks.run_import``, which calls ``run_import``: under the case's
lock it loads the file: on PostgreSQL a clean file is COPYed as written
(``directload``), any other CSV or plain text is read set-based
(``fastload``); the rest, and every file elsewhere, streams through
``affected.parsing`` (COPY on PostgreSQL, batched INSERTs elsewhere). Then,
only if no line was bad and the file was not imported before, it
recomputes the counts and appends
an ``affected_imported`` event with the file's SHA-256 and its counts, in
the same transaction. Otherwise everything rolls back and the import is
marked refused with the first 100 bad lines and their total. The stored
file is erased either way (it may hold plain addresses).

Progress (bytes read) is published through the cache while the task runs
(``progress``), since the import's own transaction is invisible until it
commits.
"""

import hashlib
import uuid
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import storages
from django.db import connection, transaction

from disclosure.accounts.models import User
from disclosure.cases.guards import locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import DomainError, NotFound, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import check_stream, validated
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from . import directload, fastload
from .counting import METHOD_VERSION, by_hash, store_counts
from .hosts import add_countries, add_hosts
from .models import AffectedImport, AffectedList, AffectedRecord
from .parsing import ROW_COLUMNS, BadLine, ImportRefused, Row, parse

MAX_ERRORS_SHOWN = 100
_PROGRESS_EVERY = 50_000  # lines between progress notes
_SQLITE_BATCH = 2_000
ACTION = "update_details"  # who may import, group and tell: those who edit the case


def _storage():
    return storages["default"]


def progress_key(batch_id: int) -> str:
    return f"affected-import-progress:{batch_id}"


def progress(batch: AffectedImport) -> int:
    """Bytes read so far by the running import (from the cache), else the row's."""
    if batch.status == AffectedImport.Status.RUNNING:
        return int(cache.get(progress_key(batch.pk)) or batch.bytes_read)
    return batch.bytes_read


def hash_key() -> bytes:
    """The deployment's key for the keyed hash of e-mail addresses
    (``DISCLOSURE_AFFECTED_HASH_KEY``; derived from SECRET_KEY when unset)."""
    key = getattr(settings, "DISCLOSURE_AFFECTED_HASH_KEY", "")
    return (key or "affected-email-hash:" + settings.SECRET_KEY).encode("utf-8")


@validated
def start_import(
    *, actor: User, case: Case, file: Any, filename: str, format: str
) -> AffectedImport:
    """Record an import of ``file`` (a binary stream) in ``format`` (csv,
    text, jsonl) into ``case``'s affected list, waiting for ``run_import``.
    Refused (nothing stored) when the actor may not edit the case, the case
    is closed, the format is unknown or the file is empty."""
    check_stream(file, field="file")
    if format not in AffectedImport.Format.values:
        raise ValidationFailed(
            f"Unknown format {format!r}: use csv, text or jsonl.", field="format"
        )
    name = (filename or "").strip()[-255:] or "upload"
    with locked_case(case, actor=actor, action=ACTION) as locked:
        stored = _storage().save(f"affected-imports/{uuid.uuid4().hex}", file)
        size = _storage().size(stored)
        if size == 0:
            _storage().delete(stored)
            raise ValidationFailed("The file is empty.", field="file")
        minimise = AffectedList.objects.filter(case=locked, minimise_emails=True).exists()
        try:
            return AffectedImport.objects.create(
                case=locked, created_by=actor, created_at=now(), format=format,
                filename=name, size=size, stored_name=stored, minimised=minimise,
            )  # fmt: skip
        except BaseException:
            _storage().delete(stored)
            raise


class _Tally:
    """What the parse saw: rows, bad lines (the first ones kept), bytes."""

    def __init__(self) -> None:
        self.rows = 0
        self.lines = 0
        self.bad = 0
        self.errors: list[dict[str, Any]] = []

    def add_bad(self, item: BadLine) -> None:
        self.bad += 1
        if len(self.errors) < MAX_ERRORS_SHOWN:
            self.errors.append({"line": item.line, "reason": item.reason})


class _HashingReader:
    """A binary stream that hashes and counts what is read through it."""

    def __init__(self, stream: IO[bytes], batch_id: int) -> None:
        self.stream, self.batch_id = stream, batch_id
        self.digest = hashlib.sha256()
        self.read_bytes = 0
        self._next_note = 1 << 22

    def read(self, size: int = -1) -> bytes:
        return self._seen(self.stream.read(size))

    def readline(self, limit: int = -1) -> bytes:
        return self._seen(self.stream.readline(limit))

    def _seen(self, data: bytes) -> bytes:
        self.digest.update(data)
        self.read_bytes += len(data)
        if self.read_bytes >= self._next_note:
            cache.set(progress_key(self.batch_id), self.read_bytes, 3600)
            self._next_note = self.read_bytes + (1 << 22)
        return data


_RECORD_COLUMNS = ("email", "email_hash", "host", "organization", "country", "found_file",
                   "found_path")  # fmt: skip
_ROW_INDEX = [ROW_COLUMNS.index(c) for c in _RECORD_COLUMNS]


def _copy_rows(rows, case_id: int, batch_id: int) -> None:
    """Load ``rows`` (parsing's Rows) into the records table (COPY on
    PostgreSQL, batched INSERTs elsewhere)."""
    table = AffectedRecord._meta.db_table
    columns = ("case_id", "batch_id", *_RECORD_COLUMNS)
    head = (case_id, batch_id)
    pick = _ROW_INDEX
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                write = copy.write_row
                for row in rows:
                    write(head + tuple(row[i] for i in pick))
            return
        sql = (
            f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(['%s'] * len(columns))})"
        )
        batch: list[tuple] = []
        for row in rows:
            batch.append(head + tuple(row[i] for i in pick))
            if len(batch) >= _SQLITE_BATCH:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)


class _Distinct:
    """The hosts (with their mentions) and countries of the rows seen."""

    def __init__(self) -> None:
        self.hosts: dict[str, list] = {}
        self.countries: set[str] = set()

    def add(self, row: Row) -> None:
        _, _, _, host, is_ip, domain, free_mail, _, country, _, _ = row
        seen = self.hosts.get(host)
        if seen is None:
            self.hosts[host] = [host, host, is_ip, domain, free_mail, 1]
        else:
            seen[5] += 1
        self.countries.add(country)

    def store(self, case_id: int) -> None:
        add_hosts(case_id, (tuple(v) for v in self.hosts.values()))
        add_countries(case_id, self.countries)


def _load(locked: Case, batch: AffectedImport, stream: IO[bytes], tally: _Tally) -> None:
    """Parse and load; stops loading (not counting) at the first bad line."""
    distinct = _Distinct()

    def rows():
        for item in parse(stream, batch.format, key=hash_key(), keep_email=not batch.minimised):
            if isinstance(item, BadLine):
                tally.add_bad(item)
                tally.lines = item.line
                continue
            tally.rows += 1
            tally.lines = item[0]
            if not tally.bad:
                distinct.add(item)
                yield item

    _copy_rows(rows(), locked.pk, batch.pk)
    if not tally.bad:
        distinct.store(locked.pk)


class _NotDirect(Exception):
    """Rolls the direct load's savepoint back."""


def _direct_load(
    locked: Case, batch: AffectedImport, reader: "_HashingReader", tally: _Tally
) -> tuple[bool, int | None]:
    """The direct load of a clean file (affected.directload), in a savepoint:
    (whether it loaded the file, the case's distinct addresses when the case
    had no record before and so they were counted on the way)."""
    if connection.vendor != "postgresql":
        return False, None
    first = not AffectedRecord.objects.filter(case=locked).exists()
    try:
        with transaction.atomic():
            loaded = directload.load(reader=reader, fmt=batch.format, case_id=locked.pk,
                                     batch_id=batch.pk, count_emails=first)  # fmt: skip
            if loaded is None:
                raise _NotDirect
    except _NotDirect:
        return False, None
    tally.rows, tally.lines = loaded.rows, loaded.lines
    return True, loaded.emails


def _fast_load(
    locked: Case, batch: AffectedImport, reader: "_HashingReader", tally: _Tally
) -> bool:
    """The set-based PostgreSQL load (affected.fastload); False when the
    file needs the Python reader."""
    if connection.vendor != "postgresql":
        return False

    def seen(item: Row | BadLine) -> None:
        if isinstance(item, BadLine):
            tally.add_bad(item)
        else:
            tally.rows += 1

    done = fastload.load(
        reader=reader, fmt=batch.format, case_id=locked.pk, batch_id=batch.pk, key=hash_key(),
        keep_email=not batch.minimised, on_item=seen,
    )  # fmt: skip
    if done is None:
        return False
    rows, tally.lines = done
    if not tally.bad:
        tally.rows = rows
    return True


def run_import(*, batch_id: int) -> AffectedImport:
    """Run the waiting import ``batch_id`` (see the module): DONE with its
    counts and ledger event, or FAILED with the reason and the bad lines,
    nothing of it written. Running it again once finished changes nothing."""
    batch = AffectedImport.objects.filter(pk=batch_id).select_related("case", "created_by").first()
    if batch is None:
        raise NotFound("No such import.")
    started = AffectedImport.objects.filter(
        pk=batch.pk, status=AffectedImport.Status.PENDING
    ).update(status=AffectedImport.Status.RUNNING)
    if not started:
        return batch
    batch.status = AffectedImport.Status.RUNNING
    stored = batch.stored_name
    tally = _Tally()
    reader: _HashingReader | None = None
    try:
        with locked_case(batch.case, actor=batch.created_by, action=ACTION) as locked:
            minimise = AffectedList.objects.filter(case=locked, minimise_emails=True).exists()
            batch.minimised = minimise  # the setting as it is now, under the lock
            emails, fast = None, False
            if not minimise and not by_hash(locked.pk):
                with _storage().open(stored, "rb") as handle:
                    reader = _HashingReader(handle, batch.pk)
                    fast, emails = _direct_load(locked, batch, reader, tally)
            if not fast:
                tally = _Tally()
                with _storage().open(stored, "rb") as handle:
                    reader = _HashingReader(handle, batch.pk)
                    fast = _fast_load(locked, batch, reader, tally)
            if not fast:
                tally = _Tally()
                with _storage().open(stored, "rb") as handle:
                    reader = _HashingReader(handle, batch.pk)
                    _load(locked, batch, reader, tally)
            if tally.bad:
                raise ImportRefused(
                    f"{tally.bad:,} bad line{'s' if tally.bad != 1 else ''}: nothing was "
                    "imported. Correct the file and import it again.",
                    field="file",
                )
            sha256 = reader.digest.hexdigest()
            if AffectedImport.objects.filter(
                case=locked, sha256=sha256, status=AffectedImport.Status.DONE
            ).exists():
                raise TransitionNotAllowed(
                    f"This file (SHA-256 {sha256}) was imported into {locked.reference} "
                    "already: importing it twice would count every line twice."
                )
            if tally.rows == 0:
                raise ValidationFailed("The file holds no record.", field="file")
            counts = store_counts(locked.pk, emails=emails)
            event = append_event(
                case=locked,
                kind=EventKind.AFFECTED_IMPORTED,
                actor=batch.created_by,
                payload={
                    "import_id": batch.pk,
                    "format": batch.format,
                    "sha256": sha256,
                    "size": reader.read_bytes,
                    "rows": tally.rows,
                    "minimised": minimise,
                    "counts": counts.counts,
                    "method_version": METHOD_VERSION,
                    "suffix_list": counts.suffix_list,
                },
            )
            _finish(batch, AffectedImport.Status.DONE, tally, reader, sha256=sha256,
                    event_seq=event.seq, minimised=minimise)  # fmt: skip
    except DomainError as e:
        _finish(batch, AffectedImport.Status.FAILED, tally, reader, message=e.message)
    finally:
        cache.delete(progress_key(batch.pk))
        _storage().delete(stored)
    return batch


def _finish(
    batch: AffectedImport,
    status: str,
    tally: _Tally,
    reader: "_HashingReader | None",
    **fields: Any,
) -> None:
    """Write the import's outcome (inside the import's transaction when it
    succeeded, on its own after a rollback)."""
    values = {
        "status": status,
        "finished_at": now(),
        "rows": tally.rows if status == AffectedImport.Status.DONE else 0,
        "lines": tally.lines,
        "bad_lines": tally.bad,
        "errors": tally.errors,
        "bytes_read": reader.read_bytes if reader else 0,
        "sha256": reader.digest.hexdigest() if reader else "",
        "stored_name": "",
        **fields,
    }
    AffectedImport.objects.filter(pk=batch.pk).update(**values)
    for name, value in values.items():
        setattr(batch, name, value)
