"""Celery tasks of the comms app (thin wrappers over its services)."""

from celery import shared_task

from . import digest, outbox


@shared_task(name="disclosure.comms.tasks.deliver_outbox_message", acks_late=True)
def deliver_outbox_message(pk: int) -> str:
    """Hand outbox message ``pk`` to the mail server (comms.outbox.deliver)."""
    return outbox.deliver(pk)


@shared_task(name="disclosure.comms.tasks.dispatch_outbox")
def dispatch_outbox() -> dict[str, int]:
    """Deliver what a lost broker or a down mail server left queued."""
    return outbox.dispatch_due()


@shared_task(name="disclosure.comms.tasks.send_digests")
def send_digests() -> int:
    """Daily: each person who chose a digest gets their pending notices in one mail."""
    return digest.send_digests()


@shared_task(name="disclosure.comms.tasks.fetch_mail")
def fetch_mail() -> dict:
    """Read new mail (Maildir, IMAP) into the cases and the triage list."""
    from .fetch import fetch_mail as fetch

    return fetch().as_dict()
