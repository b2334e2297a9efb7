"""Celery tasks of the watchers (thin wrappers over their services)."""

from celery import shared_task

from . import deadlines


@shared_task(name="disclosure.watchers.tasks.run_deadline_pass")
def run_deadline_pass() -> dict[str, int]:
    """Hourly: reminders, missed deadlines and unresponsive vendors, each once."""
    return deadlines.run_deadline_pass().as_dict()
