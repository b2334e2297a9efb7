"""Celery tasks of the exports app (thin wrappers over services)."""

from celery import shared_task

from .services import run_export


@shared_task(name="disclosure.exports.tasks.render_export")
def render_export(export_id: int) -> dict:
    """Render one requested export; a failure is recorded on the row."""
    export = run_export(export_id=export_id)
    return {"export": export.pk, "status": export.status, "sha256": export.sha256}
