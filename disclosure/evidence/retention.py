"""Retention: the content of a closed case's evidence is not kept for ever.

A case's evidence content is kept for ``retention_days(case)`` days after
the case was closed (``settings.DISCLOSURE_RETENTION_DAYS``, or the case's
own ``retention_days`` that a lead or an admin set with ``set_retention``).
Then the daily ``purge_expired`` deletes the content, unless the case is on
legal hold. Guarantees:

- what the ledger vouches for stays: the EvidenceFile row (SHA-256, size,
  name, kind ...) is kept and only marked ``purged_at``; one internal
  ``evidence_purged`` event per case lists the files (id, SHA-256, size,
  name), written under the case lock in the same transaction as the marks;
- a blob is content-addressed and may be shared (the same file on another
  case, received mail still in triage): it is deleted only after the
  transaction commits, and only when no unpurged EvidenceFile and no
  InboundMessage that is not yet a communication names it. A process that
  dies between the commit and the deletion leaves an unreferenced blob,
  which the orphan sweep (evidence.sweep) removes;
- a rerun purges nothing twice: a purged file is never selected again.

Downloads of a purged file answer ``EvidencePurged`` (evidence.downloads);
the routine integrity check skips purged files; exports print "purged on".
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases.guards import locked_case, system_locked_case
from disclosure.cases.models import Case
from disclosure.comms.models import InboundMessage
from disclosure.core.errors import LedgerMismatch, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import validated
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .models import EvidenceFile
from .storage import blob_name, evidence_storage
from .sweep import GRACE

logger = logging.getLogger(__name__)

# The longest period a case may be given (a century): anything longer is a typo.
MAX_RETENTION_DAYS = 36_500
# Who decides how long a case's evidence is kept after closing: those who
# may close it (leads and admins). The transitions table has no action of its
# own for retention; ``access.can`` answers for this one.
_DECIDES_RETENTION = "close"
# The table action the purge locks the case under: allowed at every stage
# (closed included), not blocked by a legal hold (the purge checks the hold
# itself, under the lock), no precondition.
_PURGE_LOCK_ACTION = "set_legal_hold"


@dataclass
class PurgeResult:
    """What one run did: the cases whose files were purged (by reference),
    the files and their bytes, the blobs deleted, those kept because another
    row still needs them, and the cases skipped because their row no longer
    matches its ledger."""

    cases: list[str] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    blobs_deleted: list[str] = field(default_factory=list)
    blobs_kept: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def retention_days(case: Case) -> int:
    """Days after closing that ``case``'s evidence content is kept."""
    if case.retention_days is not None:
        return case.retention_days
    return settings.DISCLOSURE_RETENTION_DAYS


def purge_due_at(case: Case) -> datetime | None:
    """When ``case``'s evidence content becomes due for purging: None while
    the case is open or on legal hold."""
    if case.closed_at is None or case.legal_hold:
        return None
    return case.closed_at + timedelta(days=retention_days(case))


def _candidates(at: datetime) -> list[Case]:
    """Closed cases not on hold, with unpurged evidence, whose period may be
    over at ``at`` (the default period is filtered in the database; a case's
    own period in Python)."""
    default_cutoff = at - timedelta(days=settings.DISCLOSURE_RETENTION_DAYS)
    rows = (
        Case.objects.filter(closed_at__isnull=False, legal_hold=False)
        .filter(
            Q(retention_days__isnull=True, closed_at__lte=default_cutoff)
            | Q(retention_days__isnull=False)
        )
        .filter(pk__in=EvidenceFile.objects.filter(purged_at=None).values("case_id"))
        .order_by("closed_at", "pk")
    )
    return [c for c in rows if (due := purge_due_at(c)) is not None and due <= at]


def blob_needed(sha256: str) -> bool:
    """Whether a row still needs the blob ``sha256``: an unpurged evidence
    file, or received mail that is not (yet) a communication."""
    return (
        EvidenceFile.objects.filter(sha256=sha256, purged_at=None).exists()
        or InboundMessage.objects.filter(raw_sha256=sha256, communication__isnull=True).exists()
    )


def _delete_unneeded(hashes: list[str], result: PurgeResult) -> None:
    """After commit: delete each blob no row needs any more. A blob written
    or renewed within the sweep's grace period may belong to an upload whose
    transaction is still open: it is left to the orphan sweep."""
    storage = evidence_storage()
    recent = now() - GRACE
    for sha256 in sorted(set(hashes)):
        name = blob_name(sha256)
        if blob_needed(sha256):
            result.blobs_kept.append(sha256)
            continue
        try:
            if not storage.exists(name):
                continue
            if storage.get_modified_time(name) >= recent:
                result.blobs_kept.append(sha256)
                continue
            storage.delete(name)
        except OSError as exc:  # left to the orphan sweep
            logger.error("purged blob %s not deleted: %s", sha256, exc)
            continue
        result.blobs_deleted.append(sha256)


def _purge_case(case: Case, at: datetime, result: PurgeResult) -> list[str]:
    """Mark the case's unpurged files purged and record it, under the case
    lock; the hashes to delete once this commits ([] when nothing was due
    after all: a hold set or the period changed meanwhile)."""
    with system_locked_case(case, action=_PURGE_LOCK_ACTION) as locked:
        due = purge_due_at(locked)
        if due is None or due > at:
            return []
        files = list(
            EvidenceFile.objects.select_for_update()
            .filter(case=locked, purged_at=None)
            .order_by("pk")
        )
        if not files:
            return []
        purged_at = now()
        EvidenceFile.objects.filter(pk__in=[f.pk for f in files]).update(purged_at=purged_at)
        append_event(
            case=locked,
            kind=EventKind.EVIDENCE_PURGED,
            actor=None,
            payload={
                "files": [
                    {
                        "evidence_id": f.pk,
                        "sha256": f.sha256,
                        "size": f.size,
                        "name": f.original_name,
                    }
                    for f in files
                ],
                "retention_days": retention_days(locked),
                "closed_at": locked.closed_at,
                "due_at": due,
            },
            internal=True,
        )
    result.cases.append(locked.reference)
    result.files += len(files)
    result.bytes += sum(f.size for f in files)
    return [f.sha256 for f in files]


def purge_expired(at: datetime | None = None) -> PurgeResult:
    """Purge the evidence content of every closed case not on legal hold
    whose retention period ended by ``at`` (default now); see the module's
    docstring for what stays and when blobs go. Each case is its own
    transaction; a case whose row no longer matches its ledger is skipped
    (logged, named in ``skipped``) and the others are purged all the same."""
    at = at or now()
    result = PurgeResult()
    for case in _candidates(at):
        try:
            hashes = _purge_case(case, at, result)
        except LedgerMismatch as exc:
            logger.error("retention: %s not purged: %s", case.reference, exc)
            result.skipped.append(case.reference)
            continue
        if hashes:
            # The transaction has committed: the blobs may go now.
            _delete_unneeded(hashes, result)
    return result


def may_set_retention(user, case: Case) -> bool:
    """Whether ``user`` may change ``case``'s retention period (leads and
    admins who see it)."""
    return access.can(user, _DECIDES_RETENTION, case)


@validated
def set_retention(*, actor: User, case: Case, days: int | None, reason: str) -> Case:
    """Set how many days after closing ``case``'s evidence content is kept
    (None: the deployment's DISCLOSURE_RETENTION_DAYS), with a reason; a
    ``retention_changed`` event records the old and new periods. Leads and
    admins only (NotPermitted; NotFound for a case the actor may not see).
    Raises ValidationFailed for a period outside 0..MAX_RETENTION_DAYS, a
    blank reason, or no change. Shortening the period of a closed case lets
    the next daily run purge it (a legal hold still keeps it)."""
    if days is not None and (
        isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_RETENTION_DAYS
    ):
        raise ValidationFailed(
            f"The retention period is a number of days from 0 to {MAX_RETENTION_DAYS}.",
            field="days",
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationFailed("Say why the retention period changes.", field="reason")
    if not may_set_retention(actor, case):
        access.require(actor, access.Action.VIEW, case)  # NotFound when not visible
        raise NotPermitted(
            f"Only a lead or an admin may change the retention period of {case.reference}."
        )
    with locked_case(case, actor=actor, action=_DECIDES_RETENTION, stage_checked=False) as locked:
        if locked.retention_days == days:
            raise ValidationFailed("The retention period is already that.", field="days")
        before = locked.retention_days
        locked.retention_days = days
        locked.save(update_fields=["retention_days", "updated_at"])
        append_event(
            case=locked,
            kind=EventKind.RETENTION_CHANGED,
            actor=actor,
            payload={
                "from": before,
                "to": days,
                "default": settings.DISCLOSURE_RETENTION_DAYS,
                "reason": reason.strip(),
            },
            internal=True,
        )
    return locked
