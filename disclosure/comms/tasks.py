"""Celery tasks of the comms app (thin wrappers over comms.notifications)."""

from celery import shared_task

from . import notifications


@shared_task(name="disclosure.comms.tasks.send_vendor_message_notice")
def send_vendor_message_notice(comm_id: int) -> int:
    """E-mail staff that a vendor contact sent communication ``comm_id``."""
    return notifications.send_vendor_message_notice(comm_id)
