"""Celery tasks of the evidence app (thin wrappers over services)."""

import logging

from celery import shared_task

from . import rotation
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
