"""Celery tasks of the webhooks app (thin wrappers over webhooks.delivery).
The periodic dispatch is the outbox's one beat task,
``disclosure.comms.tasks.dispatch_outbox``, which delivers this channel too."""

from celery import shared_task

from . import delivery


@shared_task(name="disclosure.webhooks.tasks.deliver_webhook", acks_late=True)
def deliver_webhook(pk: int) -> str:
    """POST webhook delivery ``pk`` (webhooks.delivery.deliver)."""
    return delivery.deliver(pk)
