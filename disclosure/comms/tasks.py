"""Celery tasks of the comms app (thin wrappers over its services)."""

from celery import shared_task

from disclosure.core import outbox as engine

from . import digest, outbox


@shared_task(name="disclosure.comms.tasks.deliver_outbox_message", acks_late=True)
def deliver_outbox_message(pk: int) -> str:
    """Hand outbox message ``pk`` to the mail server (comms.outbox.deliver)."""
    return outbox.deliver(pk)


@shared_task(name="disclosure.comms.tasks.dispatch_outbox")
def dispatch_outbox() -> dict[str, dict[str, int]]:
    """The outbox's one periodic dispatcher (beat, every minute): deliver
    every channel's due rows (mail, webhooks: core.outbox.dispatch_all) that
    a lost broker, a down server or a stopped worker left queued; counts by
    outcome per channel."""
    return engine.dispatch_all()


@shared_task(name="disclosure.comms.tasks.send_digests")
def send_digests() -> int:
    """Daily: each person who chose a digest gets their pending notices in one mail."""
    return digest.send_digests()


@shared_task(name="disclosure.comms.tasks.fetch_mail")
def fetch_mail() -> dict:
    """Read new mail (Maildir, IMAP) into the cases and the triage list."""
    from .fetch import fetch_mail as fetch

    return fetch().as_dict()
