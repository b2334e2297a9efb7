"""Celery tasks of the re-probes (thin wrappers over runs)."""

from celery import shared_task

from .runs import run_due_probes


@shared_task(name="disclosure.probes.tasks.run_due_probes")
def run_due_probes_task() -> dict:
    """Every few minutes (beat): probe the cases whose re-probe is due."""
    report = run_due_probes()
    return {
        "probed": report.probed,
        "public": report.public,
        "not_public": report.not_public,
        "errors": report.errors,
        "skipped": report.skipped,
    }
