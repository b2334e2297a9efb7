"""Fetching received mail: the local Maildir (``DISCLOSURE_MAILDIR``) always,
and the IMAP mailbox of ``DISCLOSURE_IMAP_URL`` when one is set, each message
through ``comms.inbound.receive``.

``fetch_mail()`` is what the beat task ``disclosure.comms.tasks.fetch_mail``
and ``manage.py fetch_mail`` run. Two fetches never run at once: a
PostgreSQL advisory lock (held by the session, so across hosts), or on
SQLite a file lock beside the Maildir; a fetch that finds the lock taken
does nothing and says so (``FetchResult.skipped``). A message whose
ingestion raised (the database down) stays in its mailbox and counts as an
error; a mailbox that cannot be read is reported in ``failures`` and the
other source is still read.

The messages of one fetch share what does not change between them (the
mail account, a vendor's known addresses, who on the staff hears of a case:
``comms.runscope``), read once per fetch. A mailbox hands its messages over
a chunk at a time (at most 100 messages or 8 MB), and each chunk is one
transaction (``inbound_batch.receive_batch``); the chunk's messages are moved,
flagged or filed only after its commit, so a crash mid-chunk loses nothing
and the next fetch takes the chunk again. While a chunk of IMAP mail is
written, the next one is fetched and parsed by a background thread
(``imap.fetch_imap_chunks`` with ``prepare``); nothing of it is written or
moved before its own turn.
"""

import fcntl
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

from . import searchindex
from .inbound_batch import receive_batch
from .inbound_read import read_messages
from .maildir import fetch_maildir_chunks
from .models import InboundStatus
from .runscope import fetch_run

logger = logging.getLogger(__name__)

# pg_advisory_lock key of the fetch ("DSCMAIL" in ASCII, fits a bigint).
ADVISORY_KEY = 0x4453434D41494C
LOCK_FILE = ".disclosure-fetch.lock"


@dataclass
class SourceCounts:
    """What one mailbox gave in one fetch."""

    matched: int = 0
    unmatched: int = 0
    duplicates: int = 0
    refused: int = 0
    errors: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "matched": self.matched,
            "unmatched": self.unmatched,
            "duplicates": self.duplicates,
            "refused": self.refused,
            "errors": self.errors,
        }


@dataclass
class FetchResult:
    """Counts per source (``maildir:<path>``, ``imap:<folder>``); ``skipped``
    when another fetch was running; ``failures``: mailboxes that could not
    be read, with the reason."""

    sources: dict[str, SourceCounts] = field(default_factory=dict)
    skipped: bool = False
    failures: list[str] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.sources.values())

    def as_dict(self) -> dict:
        return {
            "skipped": self.skipped,
            "sources": {s: c.as_dict() for s, c in self.sources.items()},
            "failures": list(self.failures),
        }


def _handler(source: str, counts: SourceCounts) -> Callable[..., list[bool]]:
    """What a mailbox hands each chunk to: ``receive_batch`` (one
    transaction), counting each message's outcome; says which were processed.
    ``read``: the chunk's messages read already (``_reader``), else None."""

    def handle(raws: list[bytes], read: list | None = None) -> list[bool]:
        done = []
        for received in receive_batch(raws, source=source, read=read):
            if isinstance(received, Exception):
                counts.errors += 1  # the mailbox keeps the message
                done.append(False)
                continue
            done.append(True)
            status = received.message.status
            if received.duplicate:
                counts.duplicates += 1
            elif status == InboundStatus.REFUSED:
                counts.refused += 1
            elif status == InboundStatus.MATCHED:
                counts.matched += 1
            else:
                counts.unmatched += 1
        return done

    return handle


def _reader(source: str) -> Callable[[list[bytes]], list]:
    """How a chunk's messages are read before their transaction
    (``inbound_read.read_messages``: parsing only, no database), which the IMAP
    side does for the next chunk while the current one is written."""

    def read(raws: list[bytes]) -> list:
        return read_messages(raws, source=source, elsewhere=True)

    return read


@contextmanager
def fetch_lock() -> Iterator[bool]:
    """Yield whether this process holds the one fetch lock (released on exit)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_KEY])
            held = bool(cur.fetchone()[0])
        try:
            yield held
        finally:
            if held:
                with connection.cursor() as cur:
                    cur.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
        return
    root = Path(settings.DISCLOSURE_MAILDIR)
    root.mkdir(parents=True, exist_ok=True)
    with open(root / LOCK_FILE, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def fetch_mail(*, limit: int | None = None) -> FetchResult:
    """Read new mail from the Maildir and, when configured, IMAP (at most
    ``limit`` messages in all); see the module docstring."""
    result = FetchResult()
    with fetch_lock() as held, fetch_run():  # what stays put between messages, read once
        if not held:
            result.skipped = True
            logger.info("Another mail fetch is running; this one does nothing.")
            return result
        # Documents a stopped process left pending (comms.searchindex): a batch a fetch.
        searchindex.index_pending()
        maildir = str(settings.DISCLOSURE_MAILDIR)
        source = f"maildir:{maildir}"
        counts = result.sources.setdefault(source, SourceCounts())
        try:
            done = fetch_maildir_chunks(maildir, _handler(source, counts), limit=limit)
        except OSError as e:
            result.failures.append(f"{source}: {e}")
            done = 0
        url = settings.DISCLOSURE_IMAP_URL
        remaining = None if limit is None else limit - done
        if url and (remaining is None or remaining > 0):
            _fetch_imap(url, result, remaining)
    return result


def _fetch_imap(url: str, result: FetchResult, limit: int | None) -> None:
    from . import imap  # optional: only with an IMAP mailbox configured

    try:
        target = imap.parse_url(url)
        source = f"imap:{target.folder}"
    except Exception as e:
        result.failures.append(f"imap: {e}")
        return
    counts = result.sources.setdefault(source, SourceCounts())
    try:
        imap.fetch_imap_chunks(url, _handler(source, counts), limit=limit, prepare=_reader(source))
    except Exception as e:  # MailboxUnavailable, or a bad URL: the Maildir was read
        logger.warning("Fetching from %s failed: %s", source, e)
        result.failures.append(f"{source}: {getattr(e, 'message', None) or e}")
