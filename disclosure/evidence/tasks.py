"""Celery tasks of the evidence app (thin wrappers over services)."""

import logging

from celery import shared_task

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
