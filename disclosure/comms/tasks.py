"""Celery tasks of the comms app (thin wrappers over comms.notifications)."""

from celery import shared_task

from . import notifications, outbox


@shared_task(name="disclosure.comms.tasks.send_vendor_message_notice")
def send_vendor_message_notice(comm_id: int) -> int:
    """E-mail staff that a vendor contact sent communication ``comm_id``."""
    return notifications.send_vendor_message_notice(comm_id)


@shared_task(name="disclosure.comms.tasks.deliver_outbox_message", acks_late=True)
def deliver_outbox_message(pk: int) -> str:
    """Hand outbox message ``pk`` to the mail server (comms.outbox.deliver)."""
    return outbox.deliver(pk)


@shared_task(name="disclosure.comms.tasks.dispatch_outbox")
def dispatch_outbox() -> dict[str, int]:
    """Deliver what a lost broker or a down mail server left queued."""
    return outbox.dispatch_due()
