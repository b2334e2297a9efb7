"""Reading received mail ahead of its chunk's transaction: the checks of
size and content, the parsing and the classification of a chunk's raw
messages, with no database and no files, so that the fetch can read the
next chunk (in a thread, and parse it in a worker process) while the
current one is written (``comms.inbound_batch.receive_batch``)."""

import logging
import multiprocessing
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from . import inbound
from .classify import Classification, classify
from .eml import ReceivedEmail, read_all

logger = logging.getLogger(__name__)


def read_messages(
    raws: Sequence[bytes], *, source: str, elsewhere: bool = False
) -> list[inbound._Incoming]:
    """The messages ``raws`` read as ``receive_batch`` reads them (checks of
    size and content, the parsing, the Message-ID): no database, no files,
    so it may run in another thread ahead of the chunk's transaction.
    ``elsewhere``: the parsing (``eml.read_all``, pure) is done by worker
    processes (``PARSE_PROCESSES``, the chunk's messages dealt between
    them: parsing is most of a chunk's reading, and the fetch waited on
    it), in parallel with this process; where there is none (disabled, or a
    daemonic process such as a Celery prefork child) or it fails, here."""
    raws = [bytes(raw) for raw in raws]
    parsed: dict[int, tuple[ReceivedEmail, Classification]] = {}
    wanted = [i for i, raw in enumerate(raws) if inbound._to_read(raw)] if elsewhere else []
    pool = _parse_pool() if wanted else None
    if pool is not None:
        try:
            # one part per worker, parsed at once; each part's messages in order
            parts = [wanted[k::PARSE_PROCESSES] for k in range(PARSE_PROCESSES)]
            futures = [
                (part, pool.submit(_read_all, [raws[i] for i in part])) for part in parts if part
            ]
            for part, future in futures:
                parsed.update(zip(part, future.result(), strict=True))
        except Exception:
            logger.warning("Parsing in a worker process failed; parsing here.", exc_info=True)
            _drop_parse_pool(pool)
    return [inbound._read(raw, source, *parsed.get(i, (None, None))) for i, raw in enumerate(raws)]


def _read_all(raws: list[bytes]) -> list[tuple[ReceivedEmail, Classification]]:
    """What the worker process does: each message read (``eml.read_all``)
    and classified (``classify``), both pure."""
    return [
        (mail, classify(mail.message) if mail.message is not None else Classification())
        for mail in read_all(raws)
    ]


# Worker processes that parse received mail (``read_messages(elsewhere=True)``);
# 0: parse in this process.
PARSE_PROCESSES = 2
_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _parse_pool() -> ProcessPoolExecutor | None:
    """The process's parsing pool (started on first use, forked: the worker
    runs only ``eml.read_all``), or None where there can be none."""
    global _pool
    if PARSE_PROCESSES < 1 or multiprocessing.current_process().daemon:
        return None
    with _pool_lock:
        if _pool is None:
            try:
                _pool = ProcessPoolExecutor(
                    PARSE_PROCESSES, mp_context=multiprocessing.get_context("fork")
                )
            except (ValueError, OSError):
                return None
        return _pool


def _drop_parse_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)
