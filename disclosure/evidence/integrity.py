"""Stored evidence must still be what the ledger recorded.

A blob is stored under its SHA-256 and the ledger holds that hash, but the
bytes in storage can rot or be replaced. Guarantees:

- ``read_verified`` hands out a blob only after hashing every byte of it,
  and hands out exactly the bytes it hashed (copied, while hashing, into a
  private temporary file): bytes that do not hash to the recorded SHA-256
  never reach a user as that file;
- a failed check (``record_failure``) opens one ``IntegrityAlarm`` per file
  holding that blob, appends an internal ``evidence_integrity_failed`` event
  to each file's case, and, once committed, e-mails the staff (the case's
  assignee and every admin and lead); a file already under an open alarm is
  not alarmed again;
- a later check that finds the bytes intact (``record_intact``) closes the
  open alarms with an ``evidence_integrity_restored`` event.

The routine check over all stored files is ``evidence.rotation``.
"""

import hashlib
import logging
import tempfile
from typing import IO

from django.db import transaction

from disclosure.cases.models import Case
from disclosure.core.errors import DomainError, LedgerMismatch
from disclosure.core.timeutils import now
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event, require_consistent

from .models import EvidenceFile, IntegrityAlarm
from .notifications import queue_integrity_alarm
from .storage import CHUNK, open_blob

logger = logging.getLogger(__name__)

# A verified copy stays in memory up to this size, then spills to a
# private temporary file.
_IN_MEMORY = 8 * 1024 * 1024


class EvidenceCorrupt(DomainError):
    """The stored file no longer matches the SHA-256 recorded for it (or is
    gone): it is not served."""

    code = "evidence_corrupt"
    http_status = 409


class Mismatch(Exception):
    """What a check found instead of the expected bytes: ``found`` is the
    SHA-256 of what is stored, None when nothing is."""

    def __init__(self, sha256: str, found: str | None) -> None:
        super().__init__(f"{sha256}: found {found or 'no file'}")
        self.sha256 = sha256
        self.found = found


def hash_blob(sha256: str, sink: IO[bytes] | None = None) -> str | None:
    """The SHA-256 of the stored blob ``sha256`` (None when it is missing),
    read once in chunks; every chunk is also written to ``sink`` if given."""
    digest = hashlib.sha256()
    try:
        blob = open_blob(sha256)
    except FileNotFoundError:
        return None
    with blob:
        while chunk := blob.read(CHUNK):
            digest.update(chunk)
            if sink is not None:
                sink.write(chunk)
    return digest.hexdigest()


def read_verified(sha256: str) -> IO[bytes]:
    """A stream of the stored blob ``sha256``, positioned at its start,
    holding exactly the bytes that were hashed and found to match. Raises
    Mismatch otherwise (nothing is returned then)."""
    copy = tempfile.SpooledTemporaryFile(max_size=_IN_MEMORY)  # noqa: SIM115 (returned open)
    try:
        found = hash_blob(sha256, copy)
        if found != sha256:
            raise Mismatch(sha256, found)
        copy.seek(0)
    except BaseException:
        copy.close()
        raise
    return copy


def corrupt_error(evidence: EvidenceFile, mismatch: Mismatch) -> EvidenceCorrupt:
    """The error a user is shown for a file that failed its check."""
    what = "is missing from storage" if mismatch.found is None else "no longer matches its SHA-256"
    return EvidenceCorrupt(
        f"The stored copy of {evidence.original_name} {what}; it was not served. "
        "Staff have been alerted."
    )


def _locked(case_id: int) -> Case:
    """Lock the case row (inside the caller's transaction) for a system
    event: no access check, the ledger's consistency still required."""
    case = Case.objects.select_for_update(of=("self",)).get(pk=case_id)
    require_consistent(case)
    return case


def record_failure(*, mismatch: Mismatch, actor=None, detected_by: str) -> list[IntegrityAlarm]:
    """Alarm every file stored as ``mismatch.sha256`` that has no open alarm
    yet (see the module's docstring); the new alarms. ``actor`` is whoever's
    download found it (None for the routine check). Commits on its own,
    whatever the caller does next (a refused download raises)."""
    alarms = []
    already = set(
        IntegrityAlarm.objects.filter(
            evidence__sha256=mismatch.sha256, resolved_at=None
        ).values_list("evidence_id", flat=True)
    )
    # A purged file has no content to alarm about (evidence.retention).
    rows = EvidenceFile.objects.filter(sha256=mismatch.sha256, purged_at=None)
    for evidence in rows.order_by("pk"):
        if evidence.pk in already:
            continue
        try:
            with transaction.atomic():
                case = _locked(evidence.case_id)
                if IntegrityAlarm.objects.filter(evidence=evidence, resolved_at=None).exists():
                    continue  # another process alarmed it meanwhile
                append_event(
                    case=case,
                    kind=EventKind.EVIDENCE_INTEGRITY_FAILED,
                    actor=actor,
                    payload={
                        "evidence_id": evidence.pk,
                        "sha256": mismatch.sha256,
                        "found_sha256": mismatch.found,
                        "detected_by": detected_by,
                    },
                    internal=True,
                )
                alarm = IntegrityAlarm.objects.create(
                    case=case,
                    evidence=evidence,
                    found_sha256=mismatch.found or "",
                    detected_at=now(),
                    detected_by=detected_by,
                )
                queue_integrity_alarm(alarm)  # sent once this commits
        except LedgerMismatch as exc:
            # The case row was changed behind the ledger: no event can be
            # appended, but the alarm is raised all the same.
            logger.error("integrity alarm on evidence %s not in its ledger: %s", evidence.pk, exc)
            alarm = IntegrityAlarm.objects.create(
                case_id=evidence.case_id,
                evidence=evidence,
                found_sha256=mismatch.found or "",
                detected_at=now(),
                detected_by=detected_by,
            )
            queue_integrity_alarm(alarm)
        logger.error(
            "evidence %s (%s) failed its integrity check (%s): found %s",
            evidence.pk,
            mismatch.sha256,
            detected_by,
            mismatch.found or "no file",
        )
        alarms.append(alarm)
    return alarms


def record_intact(*, sha256: str, actor=None, detected_by: str) -> int:
    """Close the open alarms of the files stored as ``sha256``, whose bytes
    were just found intact, each with an ``evidence_integrity_restored``
    event. The number closed."""
    closed = 0
    for alarm in IntegrityAlarm.objects.filter(evidence__sha256=sha256, resolved_at=None):
        with transaction.atomic():
            case = _locked(alarm.case_id)
            if not IntegrityAlarm.objects.filter(pk=alarm.pk, resolved_at=None).exists():
                continue
            append_event(
                case=case,
                kind=EventKind.EVIDENCE_INTEGRITY_RESTORED,
                actor=actor,
                payload={
                    "evidence_id": alarm.evidence_id,
                    "sha256": sha256,
                    "detected_by": detected_by,
                },
                internal=True,
            )
            IntegrityAlarm.objects.filter(pk=alarm.pk).update(resolved_at=now())
            closed += 1
    return closed


def has_open_alarm(sha256: str) -> bool:
    return IntegrityAlarm.objects.filter(evidence__sha256=sha256, resolved_at=None).exists()
