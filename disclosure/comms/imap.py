"""Reading new mail from an IMAP mailbox (issue 17, item 4), with imap-tools.

``fetch_imap(url, handle)`` hands each new message of the URL's folder, as
the exact bytes the server holds (``BODY.PEEK[]``: IMAP's network form, lines
ending in CRLF; nothing is parsed or re-serialised here), to ``handle``. When
``handle`` returns, the message is processed: moved to the URL's
``processed`` folder (created when missing), or, without one, flagged
``\\Seen`` (and then only unseen messages are fetched). When ``handle``
raises, the error is logged, the message stays where it is (fetched again
next time) and the next one is tried.

The URL (``settings.DISCLOSURE_IMAP_URL``)::

    imaps://user:password@host[:993]/Folder?processed=Done    TLS from the start
    imap://user:password@host[:143]/Folder?processed=Done     STARTTLS, required
    imap://...?insecure=1                                      plain text (never on a network)

User, password and folder are percent-decoded; the folder defaults to INBOX.
The server's certificate is checked against the system's CAs and
``settings.DISCLOSURE_IMAP_CA`` (a PEM file's path, or PEM text); every
network operation times out after ``settings.DISCLOSURE_IMAP_TIMEOUT``
seconds.

Messages are fetched in batches of at most ``BATCH_MESSAGES`` messages and
``BATCH_BYTES`` bytes (by the server's RFC822.SIZE; a larger message comes
alone), so a mailbox of 10,000 messages never sits in memory at once; the
processed messages of a batch are moved or flagged when the batch is done
(a crash in between hands them over again: the inbound side refuses a
Message-ID it logged before). ``fetch_imap_chunks`` reads the next batch in
a background thread while the current one is handled; only this thread
moves or flags messages, each batch after its handler returned.

A bad URL, a refused connection or login, an untrusted certificate or a
missing folder raise ``MailboxUnavailable``, whose message names the
problem, the host and the user, never the password.
"""

from __future__ import annotations

import contextlib
import imaplib
import logging
import queue
import re
import ssl
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.consts import UID_PATTERN
from imap_tools.errors import ImapToolsError, MailboxLoginError
from imap_tools.message import MailMessage

from disclosure.core.errors import DomainError

logger = logging.getLogger(__name__)

BATCH_MESSAGES = 100
BATCH_BYTES = 8 * 1024 * 1024
SIZE_CHUNK = 1000  # UIDs per RFC822.SIZE request
_SIZE = re.compile(rb"UID (\d+) RFC822\.SIZE (\d+)|RFC822\.SIZE (\d+) UID (\d+)")


class MailboxUnavailable(DomainError):
    """The IMAP mailbox cannot be read: bad URL, connection, TLS, login or folder."""

    code = "mailbox_unavailable"
    http_status = 503


@dataclass(frozen=True)
class ImapTarget:
    """What an IMAP URL says (``parse_url``)."""

    host: str
    port: int
    security: str  # "tls" (imaps), "starttls" (imap) or "plain" (imap with insecure=1)
    user: str
    password: str
    folder: str
    processed: str | None

    def __repr__(self) -> str:  # never the password
        return (
            f"ImapTarget({self.security}://{self.user}@{self.host}:{self.port}/{self.folder}"
            f"{'?processed=' + self.processed if self.processed else ''})"
        )

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"


def parse_url(url: str) -> ImapTarget:
    """The mailbox an ``imaps://`` or ``imap://`` URL names; MailboxUnavailable
    (not naming the password) when it is not such a URL."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise MailboxUnavailable(f"DISCLOSURE_IMAP_URL is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps"):
        raise MailboxUnavailable(
            "DISCLOSURE_IMAP_URL must start with imaps:// (TLS) or imap:// (STARTTLS), "
            f"not {scheme + '://' if scheme else 'no scheme'}."
        )
    if not parts.hostname:
        raise MailboxUnavailable("DISCLOSURE_IMAP_URL names no host.")
    if parts.username is None or parts.password is None:
        raise MailboxUnavailable("DISCLOSURE_IMAP_URL must carry user:password@ before the host.")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"processed", "insecure"})
    if unknown:
        raise MailboxUnavailable(f"DISCLOSURE_IMAP_URL has unknown options: {', '.join(unknown)}.")
    insecure = query.get("insecure", [""])[-1] in ("1", "true", "yes")
    if insecure and scheme == "imaps":
        raise MailboxUnavailable("insecure=1 only applies to imap:// URLs.")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    processed = query.get("processed", [""])[-1] or None
    if processed is not None and processed == folder:
        raise MailboxUnavailable("The processed folder must differ from the folder read.")
    return ImapTarget(
        host=parts.hostname,
        port=port or (993 if scheme == "imaps" else 143),
        security="tls" if scheme == "imaps" else ("plain" if insecure else "starttls"),
        user=unquote(parts.username),
        password=unquote(parts.password),
        folder=folder,
        processed=processed,
    )


def tls_context() -> ssl.SSLContext:
    """Certificate and host name checked; the system's CAs trusted, and
    settings.DISCLOSURE_IMAP_CA (a PEM file's path or PEM text) besides."""
    context = ssl.create_default_context()
    extra = (settings.DISCLOSURE_IMAP_CA or "").strip()
    if extra:
        try:
            if "-----BEGIN" in extra:
                context.load_verify_locations(cadata=extra)
            else:
                context.load_verify_locations(cafile=extra)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxUnavailable(f"DISCLOSURE_IMAP_CA cannot be loaded: {exc}") from None
    return context


class RawMessage:
    """A fetched message kept as the server's bytes (imap-tools' MailMessage
    would parse every message; the inbound side parses once)."""

    def __init__(self, fetch_data: list) -> None:
        raw, uid_data, flag_data = MailMessage._get_message_data_parts(fetch_data)
        self.raw: bytes = raw
        self.uid: str | None = None
        for item in [uid_data, *flag_data]:
            found = re.search(UID_PATTERN, item.decode(errors="replace"))
            if found:
                self.uid = found.group("uid")
                break


class _TlsMailBox(MailBox):
    email_message_class = RawMessage


class _StartTlsMailBox(MailBoxStartTls):
    email_message_class = RawMessage


class _PlainMailBox(MailBoxUnencrypted):
    email_message_class = RawMessage


def _connect(target: ImapTarget, timeout: float):
    """A logged-in mailbox with the target's folder selected."""
    try:
        if target.security == "tls":
            box = _TlsMailBox(target.host, target.port, timeout=timeout, ssl_context=tls_context())
        elif target.security == "starttls":
            box = _StartTlsMailBox(
                target.host, target.port, timeout=timeout, ssl_context=tls_context()
            )
        else:
            box = _PlainMailBox(target.host, target.port, timeout=timeout)
    except ssl.SSLCertVerificationError as exc:
        raise MailboxUnavailable(
            f"The IMAP server {target.host}:{target.port} presented a certificate that is not "
            f"trusted ({exc.verify_message}); set DISCLOSURE_IMAP_CA to trust its CA."
        ) from None
    except (OSError, ssl.SSLError, imaplib.IMAP4.error, ImapToolsError) as exc:
        raise MailboxUnavailable(
            f"Cannot connect to the IMAP server {target.host}:{target.port}: {exc}"
        ) from None
    try:
        if target.user.isascii() and target.password.isascii():
            box.login(target.user, target.password, initial_folder=None)
        else:
            box.login_utf8(target.user, target.password, initial_folder=None)
    except (MailboxLoginError, imaplib.IMAP4.error) as exc:
        _close(box)
        detail = exc.command_result[1] if isinstance(exc, MailboxLoginError) else exc
        raise MailboxUnavailable(
            f"The IMAP server refused the login of {target.where}: {_text(detail)}"
        ) from None
    try:
        box.folder.set(target.folder)
    except (ImapToolsError, imaplib.IMAP4.error) as exc:
        _close(box)
        raise MailboxUnavailable(
            f"Cannot open the IMAP folder {target.folder!r} of {target.where}: {_text(exc)}"
        ) from None
    return box


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = b" ".join(v for v in value if isinstance(v, bytes))
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return str(value)


def _close(box) -> None:
    with contextlib.suppress(Exception):
        box.logout()


def _batches(box, uids: list[str]) -> Iterator[list[str]]:
    """``uids`` in batches of at most BATCH_MESSAGES messages and BATCH_BYTES bytes."""
    for start in range(0, len(uids), SIZE_CHUNK):
        chunk = uids[start : start + SIZE_CHUNK]
        status, data = box.client.uid("FETCH", ",".join(chunk), "(RFC822.SIZE)")
        sizes: dict[str, int] = {}
        if status == "OK":
            for line in data:
                if isinstance(line, bytes):
                    for m in _SIZE.finditer(line):
                        uid, size = (m.group(1), m.group(2)) if m.group(1) else (m[4], m[3])
                        sizes[uid.decode()] = int(size)
        batch: list[str] = []
        total = 0
        for uid in chunk:
            if uid not in sizes and status == "OK":
                continue  # expunged meanwhile
            size = sizes.get(uid, 0)
            if batch and (len(batch) >= BATCH_MESSAGES or total + size > BATCH_BYTES):
                yield batch
                batch, total = [], 0
            batch.append(uid)
            total += size
        if batch:
            yield batch


def fetch_imap(url: str, handle: Callable[[bytes], object], *, limit: int | None = None) -> int:
    """Hand each new message of the mailbox ``url`` names to ``handle`` (at
    most ``limit``) and mark those it returned for as processed (see the
    module docstring). Returns the number of messages processed (handed
    over and not raised for). Raises MailboxUnavailable when the mailbox
    cannot be read; messages processed before that stay processed."""
    target = parse_url(url)

    def handle_chunk(raws: list[bytes]) -> list[bool]:
        done = []
        for raw in raws:
            try:
                handle(raw)
            except Exception:
                logger.exception(
                    "A message of %s/%s not processed; it stays in the folder.",
                    target.where, target.folder,
                )  # fmt: skip
                done.append(False)
            else:
                done.append(True)
        return done

    return fetch_imap_chunks(url, handle_chunk, limit=limit)


def fetch_imap_chunks(
    url: str,
    handle_chunk: Callable[..., Sequence[bool]],
    *,
    limit: int | None = None,
    prepare: Callable[[list[bytes]], object] | None = None,
) -> int:
    """``fetch_imap`` a chunk at a time: each batch of new messages (at most
    BATCH_MESSAGES and BATCH_BYTES) goes to ``handle_chunk`` at once, which
    says for each message whether it was processed; those are then moved or
    flagged, after ``handle_chunk`` returned (a crash before that hands them
    over again). When ``handle_chunk`` raises, no message of the chunk is
    marked and the next chunk is tried. Returns the number of messages
    processed; raises MailboxUnavailable as ``fetch_imap`` does.

    The next batch is fetched (and, with ``prepare``, prepared: then
    ``handle_chunk(raws, prepare(raws))`` is called) by a background thread
    while ``handle_chunk`` works on the current one: at most one batch
    waits ahead. The thread only reads (``BODY.PEEK[]``, nothing moved or
    flagged, no database); the IMAP connection is used by one thread at a
    time, and a batch's messages are moved or flagged by this thread after
    its ``handle_chunk`` returned, as without the thread. A ``prepare``
    that raises is logged and ``handle_chunk(raws, None)`` is called."""
    target = parse_url(url)
    if limit is not None and limit <= 0:
        return 0
    box = _connect(target, float(settings.DISCLOSURE_IMAP_TIMEOUT))
    processed = 0
    reader: _Reader | None = None
    try:
        if target.processed and not box.folder.exists(target.processed):
            box.folder.create(target.processed)
        uids = box.uids("UNDELETED" if target.processed else "UNSEEN UNDELETED")
        if limit is not None:
            uids = uids[:limit]
        reader = _Reader(box, uids, prepare)
        for messages, prepared in reader:
            raws = [m.raw for m in messages]
            try:
                if prepare is None:
                    outcome = list(handle_chunk(raws))
                else:
                    outcome = list(handle_chunk(raws, prepared))
            except Exception:
                logger.exception(
                    "A chunk of %d messages of %s/%s not processed; they stay in the folder.",
                    len(messages), target.where, target.folder,
                )  # fmt: skip
                continue
            done = [m.uid for m, ok in zip(messages, outcome, strict=True) if ok]
            with reader.lock:
                _mark(box, target, done)
            processed += len(done)
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as exc:
        raise MailboxUnavailable(
            f"Reading the IMAP folder {target.folder!r} of {target.where} failed after "
            f"{processed} messages: {_text(exc)}"
        ) from None
    finally:
        if reader is not None:
            reader.stop()  # before the logout: the thread may be fetching
        _close(box)
    return processed


_DONE = object()


class _Reader:
    """The batches of ``uids`` fetched (and prepared) one ahead by a
    background thread (``fetch_imap_chunks``); iterating yields
    ``(messages, prepared)`` in the mailbox's order and re-raises what the
    thread raised. ``lock`` guards the IMAP connection."""

    def __init__(self, box, uids: list[str], prepare) -> None:
        self.box, self.uids, self.prepare = box, uids, prepare
        self.lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="imap-reader", daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stopped.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            batches = _batches(self.box, self.uids)
            while True:
                with self.lock:  # the generator's size requests too
                    batch = next(batches, None)
                    if batch is None:
                        break
                    if self._stopped.is_set():
                        return
                    messages = list(self.box.fetch(uid_list=batch, mark_seen=False, bulk=True))
                prepared = None
                if self.prepare is not None:
                    try:
                        prepared = self.prepare([m.raw for m in messages])
                    except Exception:
                        logger.exception("Preparing a chunk of %d messages failed.", len(messages))
                if not self._put((messages, prepared)):
                    return
            self._put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            self._put(_Failed(exc))

    def __iter__(self):
        while True:
            item = self._queue.get()
            if item is _DONE:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


@dataclass(frozen=True)
class _Failed:
    error: BaseException


def _mark(box, target: ImapTarget, uids: list[str]) -> None:
    """Move ``uids`` to the processed folder, or flag them \\Seen."""
    if not uids:
        return
    if target.processed:
        box.move(uids, target.processed)
    else:
        # STORE directly: imap-tools' flag() also EXPUNGEs the folder, which
        # would remove what someone else marked deleted.
        status, data = box.client.uid("STORE", ",".join(uids), "+FLAGS.SILENT", r"(\Seen)")
        if status != "OK":
            raise imaplib.IMAP4.error(f"STORE \\Seen refused: {_text(data)}")
