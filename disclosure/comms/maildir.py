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

The folder tree (``cur``, ``new``, ``tmp``) is created when missing, with
the standard library's ``mailbox.Maildir``.
"""

import logging
import mailbox
import os
import socket
import time
from collections.abc import Callable
from itertools import count
from pathlib import Path

logger = logging.getLogger(__name__)

_SEQ = count()


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
    root = Path(path)
    root.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(root, factory=None, create=True)
    for sub in ("cur", "new", "tmp"):  # an existing folder may lack some
        (root / sub).mkdir(parents=True, exist_ok=True)
    processed = 0
    for label, file in _pending(box, root):
        if limit is not None and processed >= limit:
            break
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            continue  # taken by another reader meanwhile
        try:
            handle(raw)
        except Exception:
            logger.exception("Message %s of the Maildir %s not processed; it stays.", label, root)
            continue
        try:
            _file_as_seen(box, root, label, file)
        except OSError:
            logger.exception("Message %s of %s was processed but could not be filed.", label, root)
        processed += 1
    return processed
