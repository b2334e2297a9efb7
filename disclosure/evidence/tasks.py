"""Celery tasks of the evidence app (thin wrappers over services)."""

import logging

from celery import shared_task

from . import retention, rotation
from .sweep import sweep_orphan_blobs

log = logging.getLogger(__name__)


@shared_task(name="disclosure.evidence.tasks.sweep_orphan_blobs")
def sweep_orphan_blobs_task() -> dict:
    """Hourly: delete evidence blobs left behind by rolled-back transactions."""
    result = sweep_orphan_blobs()
    if result.deleted:
        log.warning(
            "deleted %d orphaned evidence blob(s): %s",
            len(result.deleted),
            ", ".join(result.deleted),
        )
    return {"examined": result.examined, "deleted": result.deleted}


@shared_task(name="disclosure.evidence.tasks.check_stored_evidence")
def check_stored_evidence_task() -> dict:
    """Hourly: re-hash this hour's slice of the stored evidence (a full pass
    every EVIDENCE_CHECK_PASS_HOURS); alarms go to the ledger and to staff."""
    result = rotation.check_current_slice()
    if result.failed:
        log.error(
            "%d evidence blob(s) failed their integrity check: %s",
            len(result.failed),
            ", ".join(result.failed),
        )
    return {
        "slice": result.slice,
        "slices": result.slices,
        "blobs": result.blobs,
        "bytes": result.bytes,
        "failed": result.failed,
        "restored": result.restored,
    }


@shared_task(name="disclosure.evidence.tasks.purge_expired_evidence")
def purge_expired_evidence_task() -> dict:
    """Daily: purge the evidence content of closed cases whose retention
    period is over (not those on legal hold); a rerun purges nothing twice."""
    result = retention.purge_expired()
    if result.skipped:
        log.error("retention: cases not purged (ledger mismatch): %s", ", ".join(result.skipped))
    return {
        "cases": result.cases,
        "files": result.files,
        "bytes": result.bytes,
        "blobs_deleted": len(result.blobs_deleted),
        "blobs_kept": len(result.blobs_kept),
        "skipped": result.skipped,
    }
