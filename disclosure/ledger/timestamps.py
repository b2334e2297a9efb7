"""Trusted time for checkpoints: RFC 3161 timestamp tokens over their hashes.

A checkpoint's own ``created_at`` is only claimed by the deployment that
signed it. With ``DISCLOSURE_TSA_URL`` set, every checkpoint also gets a
token from that time-stamping authority, which proves that the checkpoint
(and so every chain head in it) existed at the token's time.

The token (the one format, everywhere):
- what is stamped: messageImprint = SHA-256, hashedMessage = the 32 bytes of
  the checkpoint's ``hash`` (its 64 hex digits decoded), which covers the
  signed body and the Ed25519 signature;
- the token: the DER of the RFC 3161 TimeStampToken (a CMS ContentInfo of
  SignedData encapsulating a TSTInfo), as the TSA returned it;
- in the database: ``CheckpointTimestamp.token`` (bytes), one row per
  checkpoint, append-only;
- in the anchor directory: ``checkpoint-NNNNNNNN.tsr`` (the DER token)
  beside ``checkpoint-NNNNNNNN.json``, written once (the JSON is written
  before the token exists, and is never rewritten);
- in an export's bundle (JSON export and the PDF's attached
  ``disclosure-export.json``): ``checkpoint.timestamp_token``, the token in
  base64 (standard alphabet, with padding); absent when the checkpoint had
  no token yet when the export was made.

A TSA that is down never blocks anything: ``write_checkpoint`` asks for the
token after its transaction commits and, when that fails, logs it; the
checkpoint is written all the same, and ``stamp_missing`` (beat task
``disclosure.ledger.tasks.timestamp_checkpoints``, command
``ledger_timestamp``) asks again for every checkpoint still without one.
"""

from __future__ import annotations

import base64
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from disclosure.core import tsa
from disclosure.core.timeutils import now

from .models import Checkpoint, CheckpointTimestamp

log = logging.getLogger(__name__)


def imprint(cp_hash: str) -> bytes:
    """What a checkpoint's token is over: its hash, as 32 bytes."""
    return bytes.fromhex(cp_hash)


def token_path(seq: int) -> Path:
    return Path(settings.DISCLOSURE_ANCHOR_DIR) / f"checkpoint-{seq:08d}.tsr"


def token_b64(cp: Checkpoint) -> str | None:
    """The checkpoint's token in base64, for an export (None: none yet)."""
    stamp = CheckpointTimestamp.objects.filter(checkpoint=cp).only("token").first()
    return base64.b64encode(bytes(stamp.token)).decode("ascii") if stamp else None


def _write_token_file(seq: int, token: bytes) -> None:
    """Write the token beside the anchored checkpoint, once; a different
    token already there is kept and the new one written beside it."""
    path = token_path(seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    for candidate in (path, path.with_name(f"{path.stem}.{tsa.sha256(token).hex()[:16]}.tsr")):
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
        except FileExistsError:
            if candidate.read_bytes() == token:
                return
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(token)
            f.flush()
            os.fsync(f.fileno())
        return


def stamp_checkpoint(cp: Checkpoint) -> CheckpointTimestamp | None:
    """Get and store the TSA's token over ``cp``'s hash (database and
    anchor directory). Returns the existing row when ``cp`` has one, None
    when no TSA is configured. Raises ``tsa.TimestampUnavailable`` when the
    TSA is down or its answer does not check out (nothing is stored then)."""
    existing = CheckpointTimestamp.objects.filter(checkpoint=cp).first()
    if existing is not None or not tsa.tsa_configured():
        return existing
    token = tsa.request_token(imprint(cp.hash))
    check = tsa.check_token(token, imprint(cp.hash), tsa.trust_roots())
    if not check.ok:
        raise tsa.TimestampUnavailable(f"the TSA's token does not check out: {check.problem}")
    try:
        with transaction.atomic():
            stamp = CheckpointTimestamp.objects.create(
                checkpoint=cp,
                token=token,
                gen_time=check.time,
                tsa_url=tsa.tsa_url()[:500],
                recorded_at=now(),
            )
    except IntegrityError:  # another worker stamped it meanwhile
        stamp = CheckpointTimestamp.objects.get(checkpoint=cp)
    _write_token_file(cp.seq, bytes(stamp.token))
    return stamp


def stamp_quietly(cp: Checkpoint) -> CheckpointTimestamp | None:
    """``stamp_checkpoint``, logging instead of raising when the TSA is down:
    the checkpoint stays without a token until ``stamp_missing`` runs."""
    try:
        return stamp_checkpoint(cp)
    except tsa.TimestampUnavailable as exc:
        log.warning(
            "checkpoint #%s has no RFC 3161 timestamp yet (TSA %s: %s); retried by beat",
            cp.seq,
            tsa.tsa_url(),
            exc,
        )
    except Exception:  # a misconfigured TSA trust must not fail the checkpoint's writer
        log.exception("checkpoint #%s: timestamping failed; retried by beat", cp.seq)
    return None


@dataclass
class StampResult:
    stamped: list[int] = field(default_factory=list)  # checkpoint numbers
    missing: int = 0  # still without a token
    error: str = ""


def stamp_missing(*, limit: int = 500) -> StampResult:
    """Ask the TSA for a token for every checkpoint that has none (oldest
    first, at most ``limit``); stops at the first failure (the TSA is down:
    the next run tries again). Nothing happens without a TSA."""
    result = StampResult()
    if not tsa.tsa_configured():
        return result
    pending = list(
        Checkpoint.objects.filter(timestamp__isnull=True).order_by("seq").defer("entries")
    )
    for cp in pending[:limit]:
        try:
            stamp_checkpoint(cp)
        except tsa.TimestampUnavailable as exc:
            result.error = f"checkpoint #{cp.seq}: {exc}"
            break
        result.stamped.append(cp.seq)
    result.missing = len(pending) - len(result.stamped)
    return result


@dataclass
class TimeReport:
    """What verify_ledger prints about trusted time, and what is wrong."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _check(cp_hash: str, token: bytes, roots: list) -> tsa.TokenCheck:
    return tsa.check_token(token, imprint(cp_hash), roots)


def verify_timestamps(checkpoint_file: str | Path | None = None) -> TimeReport:
    """Check every checkpoint's token (database and anchor ``.tsr`` file):
    over the checkpoint's hash, signed by the TSA certificate it carries
    (valid for time stamping) and, with ``DISCLOSURE_TSA_TRUST``, chaining
    to it. Reports the latest checkpoint's trusted time, the checkpoints
    still waiting for one, and, with ``checkpoint_file``, the token beside
    that file."""
    report = TimeReport()
    roots = tsa.trust_roots()
    rows = CheckpointTimestamp.objects.select_related("checkpoint").defer("checkpoint__entries")
    latest = None
    for stamp in rows.order_by("checkpoint__seq").iterator(chunk_size=200):
        cp = stamp.checkpoint
        check = _check(cp.hash, bytes(stamp.token), roots)
        if not check.ok:
            report.problems.append(f"checkpoint #{cp.seq}: its RFC 3161 timestamp: {check.problem}")
            continue
        latest = (cp.seq, check)
        anchored = token_path(cp.seq)
        if anchored.exists():
            file_check = _check(cp.hash, anchored.read_bytes(), roots)
            if not file_check.ok:
                report.problems.append(f"{anchored}: {file_check.problem}")
    waiting = Checkpoint.objects.filter(timestamp__isnull=True).count()
    if latest is not None:
        seq, check = latest
        report.lines.append(f"checkpoint #{seq}: trusted time {check.describe()}")
    if waiting and tsa.tsa_configured():
        report.lines.append(
            f"{waiting} checkpoints have no RFC 3161 timestamp yet (the TSA was unreachable; "
            "beat retries, or run manage.py ledger_timestamp)"
        )
    if checkpoint_file:
        report.lines.extend(_file_lines(Path(checkpoint_file), roots, report.problems))
    return report


def _file_lines(path: Path, roots: list, problems: list[str]) -> list[str]:
    import json

    token_file = path.with_suffix(".tsr")
    if not token_file.exists():
        return [f"{path}: no timestamp token beside it ({token_file.name})"]
    try:
        cp_hash = json.loads(path.read_text())["hash"]
        check = _check(cp_hash, token_file.read_bytes(), roots)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        problems.append(f"{token_file}: unreadable ({exc})")
        return []
    if not check.ok:
        problems.append(f"{token_file}: {check.problem}")
        return []
    return [f"{path.name}: trusted time {check.describe()}"]
