"""Celery tasks of the affected app (thin wrappers over its services)."""

from celery import shared_task

from . import importing


@shared_task(name="disclosure.affected.tasks.run_import")
def run_import(batch_id: int) -> dict:
    """Run one waiting import (affected.importing.run_import)."""
    batch = importing.run_import(batch_id=batch_id)
    return {"id": batch.pk, "status": batch.status, "rows": batch.rows, "bad": batch.bad_lines}
