"""Reading received mail from a local Maildir (``DISCLOSURE_MAILDIR``, by
default ``var/mail/inbox``): the embedded mailbox, so a development
install reads mail without a mail server.

``fetch_maildir(path, handle)`` hands each unread message to ``handle`` as
raw bytes: those in ``new/``, those in ``cur/`` without the Seen flag, and
plain ``*.eml`` files dropped straight into the folder. When ``handle``
returns, the message is filed in ``cur/`` with the Seen flag (a dropped
``.eml`` moves there too), so it is never handed over twice; when it
raises, the error is logged, the message stays where it was (tried again
next time) and the next message is tried.

``fetch_maildir_chunks(path, handle_chunk)`` hands the messages over a chunk
at a time (comms.fetch: one transaction a chunk) and files those processed
after the chunk was handled.

The folder tree (``cur``, ``new``, ``tmp``) is created when missing, with
the standard library's ``mailbox.Maildir``.
"""

import logging
import mailbox
import os
import socket
import time
from collections.abc import Callable, Sequence
from itertools import count
from pathlib import Path

logger = logging.getLogger(__name__)

_SEQ = count()
# A chunk handed over at once (``fetch_maildir_chunks``): at most this many
# messages and bytes (a larger message comes alone).
CHUNK_MESSAGES = 100
CHUNK_BYTES = 8 * 1024 * 1024


def _unique_name() -> str:
    """A Maildir file name (time, microseconds, pid, counter, host)."""
    now = time.time()
    host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")
    return f"{int(now)}.M{int(now % 1 * 1e6)}P{os.getpid()}Q{next(_SEQ)}.{host}"


def _flags(name: str, colon: str) -> str:
    info = name.rpartition(colon + "2,")
    return info[2] if info[1] else ""


def _pending(box: mailbox.Maildir, root: Path) -> list[tuple[str, Path]]:
    """(label, path) of each message to hand over, oldest first: dropped
    .eml files, then new/, then cur/ without the Seen flag."""
    found: list[tuple[float, str, Path]] = []
    for entry in os.scandir(root):
        if entry.is_file() and entry.name.lower().endswith(".eml"):
            found.append((entry.stat().st_mtime, entry.name, Path(entry.path)))
    for key in box.iterkeys():
        try:
            relative = box._lookup(key)  # "new/<key>" or "cur/<key>:2,<flags>"
        except KeyError:
            continue  # gone meanwhile
        subdir, _, name = relative.partition(os.sep)
        if subdir == "cur" and "S" in _flags(name, box.colon):
            continue
        path = root / relative
        try:
            found.append((path.stat().st_mtime, relative, path))
        except FileNotFoundError:
            continue
    found.sort()
    return [(label, path) for _, label, path in found]


def _file_as_seen(box: mailbox.Maildir, root: Path, label: str, path: Path) -> None:
    """Move ``path`` into cur/ with the Seen flag (keeping its other flags)."""
    if label.startswith("cur" + os.sep):
        base, sep, flags = path.name.rpartition(box.colon + "2,")
        target = path.with_name(f"{base}{sep}{''.join(sorted(set(flags + 'S')))}")
    elif label.startswith("new" + os.sep):
        target = root / "cur" / f"{path.name}{box.colon}2,S"
    else:  # a dropped .eml
        target = root / "cur" / f"{_unique_name()}{box.colon}2,S"
    os.replace(path, target)


def fetch_maildir(
    path: str | os.PathLike, handle: Callable[[bytes], object], *, limit: int | None = None
) -> int:
    """Hand each unread message of the Maildir at ``path`` to ``handle`` (at
    most ``limit``); see the module docstring. Returns how many ``handle``
    returned for (processed); those it raised for stay unread."""

    def handle_chunk(raws: list[bytes]) -> list[bool]:
        done = []
        for raw in raws:
            try:
                handle(raw)
            except Exception:
                logger.exception("A message of the Maildir %s not processed; it stays.", path)
                done.append(False)
            else:
                done.append(True)
        return done

    return fetch_maildir_chunks(path, handle_chunk, limit=limit)


def fetch_maildir_chunks(
    path: str | os.PathLike,
    handle_chunk: Callable[[list[bytes]], Sequence[bool]],
    *,
    limit: int | None = None,
    chunk_messages: int = CHUNK_MESSAGES,
    chunk_bytes: int = CHUNK_BYTES,
) -> int:
    """``fetch_maildir`` a chunk at a time: up to ``chunk_messages`` unread
    messages (and ``chunk_bytes`` bytes; a larger message comes alone) go
    to ``handle_chunk`` at once, which says for each whether it was
    processed; those are filed as seen after ``handle_chunk`` returned (a
    crash before that hands them over again). When ``handle_chunk`` raises,
    the chunk stays unread and the next one is tried. Returns how many
    messages were processed."""
    root = Path(path)
    root.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(root, factory=None, create=True)
    for sub in ("cur", "new", "tmp"):  # an existing folder may lack some
        (root / sub).mkdir(parents=True, exist_ok=True)
    processed = 0
    chunk: list[tuple[str, Path, bytes]] = []
    size = 0

    def flush() -> int:
        try:
            outcome = list(handle_chunk([raw for _, _, raw in chunk]))
        except Exception:
            logger.exception(
                "A chunk of %d messages of %s not processed; it stays.", len(chunk), root
            )
            return 0
        done = 0
        for (label, file, _), ok in zip(chunk, outcome, strict=True):
            if not ok:
                continue
            done += 1
            try:
                _file_as_seen(box, root, label, file)
            except OSError:
                logger.exception(
                    "Message %s of %s was processed but could not be filed.", label, root
                )
        return done

    for label, file in _pending(box, root):
        if limit is not None and processed + len(chunk) >= limit:
            break
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            continue  # taken by another reader meanwhile
        if chunk and (len(chunk) >= chunk_messages or size + len(raw) > chunk_bytes):
            processed += flush()
            chunk, size = [], 0
        chunk.append((label, file, raw))
        size += len(raw)
    if chunk:
        processed += flush()
    return processed
