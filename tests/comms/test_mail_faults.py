"""Mail faults, on PostgreSQL with real Celery workers (subprocesses) on Redis
and a real SMTP server (aiosmtpd): the broker down while a message is
composed, the SMTP server refusing and then accepting, and a worker killed
mid-send. Every message arrives exactly once, counted at the SMTP server."""

import logging
import time
from contextlib import contextmanager

import pytest
from django.core.mail import EmailMessage
from django.db import transaction

from disclosure.celery import app
from disclosure.comms import outbox, tasks
from disclosure.comms.models import OutboxMessage, OutboxPurpose, OutboxStatus
from tests.mailservers import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def compose(subject: str) -> OutboxMessage:
    """A message queued in a change's transaction, committed."""
    with transaction.atomic():
        return outbox.enqueue(
            purpose=OutboxPurpose.NOTIFICATION,
            message=EmailMessage(
                subject=subject,
                body="Dear Contoso,\n\nplease confirm the bucket is secured.\n",
                from_email="disclosure@disclosure.test",
                to=["security@contoso.test"],
            ),
        )


def wait_until(predicate, timeout: float = 60, every: float = 0.1, beat=None):
    """Poll ``predicate`` until true; ``beat`` (if given) runs every second,
    as Celery beat would run the periodic dispatch."""
    deadline = time.monotonic() + timeout
    last_beat = 0.0
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        if beat is not None and time.monotonic() - last_beat >= 1:
            beat()
            last_beat = time.monotonic()
        time.sleep(every)


def status(row: OutboxMessage) -> str:
    row.refresh_from_db()
    return row.status


@contextmanager
def broker_down():
    """This process's broker is a port nothing listens on (as if Redis had
    stopped), and is put back afterwards."""
    saved = app.conf.broker_url, app.conf.broker_write_url
    dead = f"redis://127.0.0.1:{free_port()}/0"
    app.conf.broker_url = app.conf.broker_write_url = dead
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_write_url = saved
        app._pool = None
        app.amqp._producer_pool = None


def mail_env(smtp_server, **extra: str) -> dict[str, str]:
    return {
        **smtp_server.env(),
        "DISCLOSURE_MAIL_DOMAIN": "disclosure.test",
        "DISCLOSURE_MAIL_RETRY_SECONDS": "1",
        **extra,
    }


def test_broker_down_while_composing_then_the_periodic_dispatch_delivers_once(
    smtp_server, worker_processes, worker_queue, caplog
):
    worker_processes(mail_env(smtp_server))

    with broker_down(), caplog.at_level(logging.WARNING, logger="disclosure.comms.outbox"):
        started = time.monotonic()
        row = compose("Case DSC-1: broker down")
        publishing = time.monotonic() - started

    # The request to deliver was lost (logged); the change and its message stand.
    lost = [r.getMessage() for r in caplog.records if r.name == "disclosure.comms.outbox"]
    assert len(lost) == 1
    assert lost[0].startswith(
        f"outbox: could not ask a worker to deliver outbox message {row.pk} (OperationalError: "
    )
    assert "Connection refused" in lost[0]
    assert lost[0].endswith("); the periodic dispatch will send it")
    assert publishing < 10
    time.sleep(1)
    assert status(row) == OutboxStatus.QUEUED
    assert smtp_server.received == []

    # The broker is back: the beat task, run by the worker, finds the message.
    tasks.dispatch_outbox.apply_async(queue=worker_queue)
    wait_until(lambda: status(row) == OutboxStatus.SENT)
    assert row.attempts == 1
    assert smtp_server.count(row.message_id) == 1

    # A second periodic run sends nothing more.
    tasks.dispatch_outbox.apply_async(queue=worker_queue)
    time.sleep(2)
    assert smtp_server.count(row.message_id) == 1
    assert len(smtp_server.received) == 1


def test_the_smtp_server_refusing_then_accepting_delivers_once(
    smtp_server, worker_processes, worker_queue
):
    worker_processes(mail_env(smtp_server))
    smtp_server.refuse(451, at="DATA", times=2, text="4.3.2 Not now")

    row = compose("Case DSC-2: refused twice")

    def first_attempt_over() -> bool:
        row.refresh_from_db()
        return row.attempts >= 1 and row.status != OutboxStatus.SENDING

    wait_until(first_attempt_over)
    assert row.status == OutboxStatus.QUEUED
    assert row.last_error == "SMTPDataError: 451 4.3.2 Not now"

    def beat():
        tasks.dispatch_outbox.apply_async(queue=worker_queue)

    wait_until(lambda: status(row) == OutboxStatus.SENT, beat=beat)
    assert row.attempts == 3
    assert row.server_response == "250 2.0.0 Ok: queued as 1"
    assert smtp_server.refusals == [("DATA", 451), ("DATA", 451)]
    assert smtp_server.count(row.message_id) == 1
    assert len(smtp_server.received) == 1


def test_a_worker_killed_mid_send_leaves_it_to_the_next_once_the_lease_ends(
    smtp_server, worker_processes, worker_queue
):
    lease = 6
    env = mail_env(smtp_server, DISCLOSURE_MAIL_LEASE_SECONDS=str(lease))
    first = worker_processes(env)
    smtp_server.stall(at="DATA")  # the server holds the message, unanswered

    row = compose("Case DSC-3: killed mid-send")
    assert smtp_server.stalled.wait(timeout=60), first.log()
    first.kill()
    smtp_server.release()  # the held DATA is never accepted: its client is gone

    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
    first_lease = row.lease_until

    worker_processes(env)

    def beat():
        tasks.dispatch_outbox.apply_async(queue=worker_queue)

    wait_until(lambda: status(row) == OutboxStatus.SENT, beat=beat)
    assert row.sent_at >= first_lease  # not taken up before the lease ended
    assert row.attempts == 2
    assert smtp_server.commands.count("DATA") == 2
    assert smtp_server.count(row.message_id) == 1
    assert len(smtp_server.received) == 1
