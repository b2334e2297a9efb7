"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1, tests/mailservers.py):
nothing sent for a change that rolls back, the exact bytes sent once after
commit, the server's answer kept, back-off on a temporary refusal, failure on
a permanent one or the last attempt, a lost worker's message taken up again
when its lease ends, and concurrent deliveries sending once."""

import logging
import threading
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.core.management import CommandError, call_command
from django.db import connections, transaction

from disclosure.comms import outbox
from disclosure.comms.models import Notice, OutboxMessage, OutboxPurpose, OutboxStatus
from disclosure.core.errors import DuplicateMessage, ValidationFailed
from tests.comms.conftest import T0
from tests.factories import make_case
from tests.mailservers import TestSMTPServer, free_port


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.DISCLOSURE_MAIL_RETRY_SECONDS = 60
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 8
    settings.DISCLOSURE_MAIL_LEASE_SECONDS = 300
    settings.DISCLOSURE_MAIL_DOMAIN = "disclosure.test"


def message(subject="Case DSC-1: first notice", to=("security@contoso.test",), **kwargs):
    return EmailMessage(
        subject=subject,
        body="Dear Contoso,\n\nwe found an exposed bucket.\n",
        from_email="disclosure@disclosure.test",
        to=list(to),
        **kwargs,
    )


def queue(purpose=OutboxPurpose.NOTIFICATION, **kwargs) -> OutboxMessage:
    return outbox.enqueue(purpose=purpose, message=message(**kwargs))


# --- enqueue ---------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_change_that_rolls_back_sends_nothing(smtp_server):
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        queue()
        raise Abandoned

    assert OutboxMessage.objects.count() == 0
    assert outbox.dispatch_due() == {
        "sent": 0,
        "retry": 0,
        "failed": 0,
        "skipped": 0,
        "unreachable": 0,
    }
    assert smtp_server.received == []
    assert smtp_server.commands == []


@pytest.mark.django_db(transaction=True)
def test_after_commit_the_server_receives_the_exact_bytes_once(smtp_server):
    with transaction.atomic():
        row = queue(cc=["cert@contoso.test"], bcc=["archive@disclosure.test"])
        assert smtp_server.received == []  # not before the commit

    received = smtp_server.wait_for(1)
    row.refresh_from_db()
    assert len(received) == 1
    assert received[0].raw == bytes(row.raw)
    assert received[0].message_id == row.message_id
    assert received[0].message_id.endswith("@disclosure.test>")
    assert received[0].mail_from == "disclosure@disclosure.test"
    assert received[0].rcpt_tos == (
        "security@contoso.test",
        "cert@contoso.test",
        "archive@disclosure.test",
    )
    assert "archive@disclosure.test" not in received[0].raw.decode()  # bcc: envelope only
    assert row.status == OutboxStatus.SENT
    assert row.server_response == "250 2.0.0 Ok: queued as 1"
    assert row.attempts == 1
    assert row.lease_until is None
    assert row.sent_at is not None

    # Asked again, by a retried task or the periodic dispatch: nothing more is sent.
    assert outbox.deliver(row.pk) == outbox.SKIPPED
    assert outbox.dispatch_due()["sent"] == 0
    assert smtp_server.count(row.message_id) == 1


def test_a_message_id_queued_twice_is_refused(db):
    first = queue()
    again = message()
    again.extra_headers["Message-ID"] = first.message_id

    with pytest.raises(DuplicateMessage):
        outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=again)

    assert OutboxMessage.objects.filter(message_id=first.message_id).count() == 1


def test_the_bytes_the_caller_kept_are_the_bytes_queued(db, smtp_server):
    kept_id, kept = outbox.render(message())
    row = outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message(), raw=(kept_id, kept))

    assert outbox.deliver(row.pk) == outbox.SENT
    assert row.message_id == kept_id
    assert smtp_server.received[0].raw == kept
    assert kept.endswith(b"\r\n")


def test_an_unknown_purpose_or_no_recipient_is_refused(db):
    with pytest.raises(ValidationFailed):
        outbox.enqueue(purpose="spam", message=message())
    with pytest.raises(ValidationFailed):
        outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message(to=()))
    assert OutboxMessage.objects.count() == 0


# --- temporary and permanent refusals --------------------------------------


def test_a_temporary_refusal_is_retried_with_back_off_and_then_arrives_once(db, smtp_server, clock):
    row = queue()
    smtp_server.refuse(451, at="DATA", text="4.3.0 Try again later")

    assert outbox.deliver(row.pk) == outbox.RETRY
    row.refresh_from_db()
    assert row.status == OutboxStatus.QUEUED
    assert row.attempts == 1
    assert row.next_attempt_at == T0 + timedelta(seconds=60)
    assert row.last_error == "SMTPDataError: 451 4.3.0 Try again later"
    assert smtp_server.received == []

    clock.advance(59)
    assert outbox.dispatch_due() == {
        "sent": 0,
        "retry": 0,
        "failed": 0,
        "skipped": 0,
        "unreachable": 0,
    }

    clock.advance(1)
    assert outbox.dispatch_due() == {
        "sent": 1,
        "retry": 0,
        "failed": 0,
        "skipped": 0,
        "unreachable": 0,
    }
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 2
    assert row.last_error == ""
    assert smtp_server.count(row.message_id) == 1
    assert smtp_server.commands.count("DATA") == 2


def test_the_back_off_doubles_and_stops_at_an_hour(settings):
    settings.DISCLOSURE_MAIL_RETRY_SECONDS = 60
    delays = [outbox.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 6, 7, 40, 10_000)]
    assert delays == [60, 120, 240, 480, 1920, 3600, 3600, 3600]


def test_successive_refusals_wait_longer_each_time(db, smtp_server, clock):
    row = queue()
    smtp_server.refuse(421, at="MAIL", times=3, text="4.7.0 Busy")
    waits = []
    for _ in range(3):
        before = clock()
        assert outbox.deliver(row.pk) == outbox.RETRY
        row.refresh_from_db()
        waits.append((row.next_attempt_at - before).total_seconds())
        clock.at = row.next_attempt_at
    assert waits == [60, 120, 240]
    assert row.last_error == "SMTPSenderRefused: 421 4.7.0 Busy"

    assert outbox.deliver(row.pk) == outbox.SENT
    assert smtp_server.count(row.message_id) == 1


def test_a_permanent_refusal_fails_at_once_with_the_error(db, smtp_server, clock):
    row = queue()
    smtp_server.refuse(550, at="DATA", text="5.7.1 Message rejected as spam")

    assert outbox.deliver(row.pk) == outbox.FAILED
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 1
    assert row.last_error == "SMTPDataError: 550 5.7.1 Message rejected as spam"

    clock.advance(86_400)
    assert outbox.dispatch_due() == {
        "sent": 0,
        "retry": 0,
        "failed": 0,
        "skipped": 0,
        "unreachable": 0,
    }
    assert outbox.deliver(row.pk) == outbox.SKIPPED
    assert smtp_server.received == []
    assert smtp_server.commands.count("DATA") == 1


def test_every_recipient_refused_for_good_fails_it(db, smtp_server):
    row = queue(to=("nobody@contoso.test",))
    smtp_server.refused_addresses.add("nobody@contoso.test")

    assert outbox.deliver(row.pk) == outbox.FAILED
    row.refresh_from_db()
    assert row.last_error == (
        "SMTPRecipientsRefused: nobody@contoso.test: 550 5.1.1 No such user here"
    )
    assert "DATA" not in smtp_server.commands


def test_one_recipient_refused_is_noted_and_the_others_get_it(db, smtp_server):
    row = queue(to=("security@contoso.test", "nobody@contoso.test"))
    smtp_server.refused_addresses.add("nobody@contoso.test")

    assert outbox.deliver(row.pk) == outbox.SENT
    row.refresh_from_db()
    assert row.server_response == (
        "250 2.0.0 Ok: queued as 1; refused: nobody@contoso.test (550 5.1.1 No such user here)"
    )
    assert smtp_server.received[0].rcpt_tos == ("security@contoso.test",)


def test_one_recipient_deferred_defers_the_message_for_all(db, smtp_server, clock):
    row = queue(to=("security@contoso.test", "cert@contoso.test"))
    smtp_server.refuse(452, at="RCPT", times=1, text="4.2.2 Mailbox full")

    assert outbox.deliver(row.pk) == outbox.RETRY
    row.refresh_from_db()
    assert row.last_error == (
        "SMTPRecipientsRefused: security@contoso.test: 452 4.2.2 Mailbox full"
    )
    assert "DATA" not in smtp_server.commands  # the other one got nothing yet

    clock.advance(60)
    assert outbox.deliver(row.pk) == outbox.SENT
    assert [r.rcpt_tos for r in smtp_server.received] == [
        ("security@contoso.test", "cert@contoso.test")
    ]


def test_the_last_attempt_fails_it(db, smtp_server, clock, settings):
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 3
    row = queue()
    smtp_server.refuse(451, at="RCPT", times=10, text="4.2.0 Mailbox busy")

    outcomes = []
    for _ in range(4):
        outcomes.append(outbox.deliver(row.pk))
        clock.advance(3600)
    assert outcomes == [outbox.RETRY, outbox.RETRY, outbox.FAILED, outbox.SKIPPED]
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 3
    assert row.last_error == "SMTPRecipientsRefused: security@contoso.test: 451 4.2.0 Mailbox busy"
    assert smtp_server.commands.count("RCPT") == 3
    assert smtp_server.received == []


def test_a_server_that_cannot_be_reached_costs_no_attempt_and_stops_the_run(db, settings, clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 2
    rows = [queue(subject=f"n{n}") for n in range(3)]

    # Down for longer than the attempts and their back-off would last.
    for _ in range(5):
        assert outbox.dispatch_due() == {
            "sent": 0,
            "retry": 0,
            "failed": 0,
            "skipped": 0,
            "unreachable": 1,  # the first refused connection ends the run
        }
        clock.advance(60)
    for row in rows:
        row.refresh_from_db()
    assert {(r.status, r.attempts) for r in rows} == {(OutboxStatus.QUEUED, 0)}
    assert rows[0].last_error.startswith("ConnectionRefusedError: ")

    # The server is back.
    server = TestSMTPServer.start()
    try:
        settings.EMAIL_PORT = server.port
        clock.advance(60)
        assert outbox.dispatch_due()["sent"] == 3
        assert [server.count(r.message_id) for r in rows] == [1, 1, 1]
    finally:
        server.stop()
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxStatus.SENT, 1)}


def test_send_mail_queue_says_when_the_server_cannot_be_reached(db, settings, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = free_port()
    queue()

    call_command("send_mail_queue")

    assert capsys.readouterr().out == (
        "0 sent, 0 to retry, 0 failed, 0 skipped\n"
        "The mail server could not be reached: the rest wait for the next run.\n"
    )


def test_vendor_mail_that_fails_for_good_is_logged_and_told_to_staff(
    db, smtp_server, analyst, lead, vendor, caplog, django_capture_on_commit_callbacks
):
    case = make_case(actor=analyst, vendor=vendor)
    row = outbox.enqueue(purpose=OutboxPurpose.VENDOR_MAIL, message=message(), case=case)
    smtp_server.refuse(554, at="DATA", text="5.7.1 Relay access denied")

    with (
        caplog.at_level(logging.ERROR, logger="disclosure.comms.outbox"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert outbox.deliver(row.pk) == outbox.FAILED

    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        f"outbox: mail to the vendor of case {case.pk} failed for good "
        f"({row.message_id} to security@contoso.test): "
        "SMTPDataError: 554 5.7.1 Relay access denied"
    ]
    shown = [(r.status, r.last_error) for r in outbox.queued_for(case) if r.pk == row.pk]
    assert shown == [(OutboxStatus.FAILED, "SMTPDataError: 554 5.7.1 Relay access denied")]

    # The case's lead (no assignee, no watchers) is told, by mail through the outbox.
    notice = Notice.objects.get(case=case, subject__endswith="Mail to the vendor not delivered")
    assert notice.user == lead
    assert notice.subject == f"[{case.reference}] Mail to the vendor not delivered"
    assert notice.body == (
        'Mail to the vendor was not delivered: "Case DSC-1: first notice" to '
        "security@contoso.test.\n\n"
        "The mail server said: SMTPDataError: 554 5.7.1 Relay access denied"
    )
    assert notice.link.endswith(f"/cases/{case.reference}/communications/")
    told = [r for r in smtp_server.received if r.rcpt_tos == (lead.email,)]
    assert [r.message["Subject"] for r in told] == [notice.subject]


# --- leases ------------------------------------------------------------------


def test_a_message_left_sending_is_taken_up_again_when_its_lease_ends(db, smtp_server, clock):
    row = queue()
    # A worker claimed it and died before it spoke to the server.
    assert outbox._claim(row.pk) is not None
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENDING, 1)
    assert row.lease_until == T0 + timedelta(seconds=300)

    clock.advance(299)
    assert outbox.due_ids() == []
    assert outbox.deliver(row.pk) == outbox.SKIPPED
    assert smtp_server.commands == []

    clock.advance(1)
    assert outbox.due_ids() == [row.pk]
    assert outbox.dispatch_due() == {
        "sent": 1,
        "retry": 0,
        "failed": 0,
        "skipped": 0,
        "unreachable": 0,
    }
    row.refresh_from_db()
    assert (row.status, row.attempts) == (OutboxStatus.SENT, 2)
    assert smtp_server.count(row.message_id) == 1


def test_a_worker_whose_lease_ran_out_does_not_start_data(db, smtp_server, settings):
    # The server holds RCPT past the lease: the worker gives up before DATA,
    # so that a worker taking the message up after the lease cannot double it.
    settings.DISCLOSURE_MAIL_LEASE_SECONDS = 2
    row = queue()
    smtp_server.stall(at="RCPT", then_accept=True)
    timer = threading.Timer(2.5, smtp_server.release)
    timer.start()
    try:
        assert outbox.deliver(row.pk) == outbox.RETRY
    finally:
        timer.cancel()
        smtp_server.release()
    row.refresh_from_db()
    assert row.status == OutboxStatus.QUEUED
    assert "DATA" not in smtp_server.commands
    assert smtp_server.received == []


def test_the_one_duplicate_window_a_server_that_accepts_after_we_gave_up(
    db, smtp_server, settings, clock
):
    # The module docstring's window, shown: the server takes the message
    # after the worker stopped waiting for its answer (here: longer than the
    # lease allows); the row is retried and the server gets it twice, with
    # the same Message-ID and bytes.
    settings.DISCLOSURE_MAIL_LEASE_SECONDS = 2  # one second's wait for the answer
    row = queue()
    smtp_server.hold_answer()
    timer = threading.Timer(2.5, smtp_server.release)
    timer.start()
    try:
        assert outbox.deliver(row.pk) == outbox.RETRY
    finally:
        timer.join()
    assert smtp_server.count(row.message_id) == 1

    clock.advance(60)
    assert outbox.deliver(row.pk) == outbox.SENT
    assert smtp_server.count(row.message_id) == 2
    assert smtp_server.received[0].raw == smtp_server.received[1].raw == bytes(row.raw)


def test_the_last_attempt_stopped_mid_send_fails_it_when_taken_up(db, smtp_server, clock, settings):
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 1
    row = queue()
    assert outbox._claim(row.pk) is not None  # the only attempt; its worker died

    clock.advance(301)
    assert outbox.dispatch_due() == {
        "sent": 0,
        "retry": 0,
        "failed": 1,
        "skipped": 0,
        "unreachable": 0,
    }
    row.refresh_from_db()
    assert row.status == OutboxStatus.FAILED
    assert row.last_error == "the last attempt stopped before the server answered"
    assert smtp_server.commands == []


def test_an_earlier_error_is_kept_when_the_last_attempt_stops_mid_send(
    db, smtp_server, clock, settings
):
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 2
    row = queue()
    smtp_server.refuse(451, at="DATA", text="4.3.0 Later")
    assert outbox.deliver(row.pk) == outbox.RETRY
    clock.advance(60)
    assert outbox._claim(row.pk) is not None  # the second and last; its worker died
    clock.advance(301)

    assert outbox.deliver(row.pk) == outbox.FAILED
    row.refresh_from_db()
    assert row.last_error == (
        "the last attempt stopped before the server answered; "
        "the one before: SMTPDataError: 451 4.3.0 Later"
    )
    assert smtp_server.received == []
    assert smtp_server.commands == ["MAIL", "RCPT", "DATA"]  # the first attempt only


def test_a_late_worker_does_not_overwrite_the_next_claim(db, clock):
    row = queue()
    first = outbox._claim(row.pk)
    clock.advance(301)
    second = outbox._claim(row.pk)
    assert (first.attempts, second.attempts) == (1, 2)

    assert outbox._held(first).update(status=OutboxStatus.QUEUED) == 0
    assert outbox._held(second).exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_deliveries_of_one_message_send_it_once(smtp_server, monkeypatch):
    monkeypatch.setattr(outbox, "request_delivery", lambda pk: None)  # the broker lost them
    rows = [queue(subject=f"Case DSC-{n}: notice") for n in range(3)]
    threads_per_row = 4
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(barrier: threading.Barrier, pk: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = outbox.deliver(pk)
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    for row in rows:
        barrier = threading.Barrier(threads_per_row)
        threads = [
            threading.Thread(target=worker, args=(barrier, row.pk)) for _ in range(threads_per_row)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

    assert sorted(outcomes) == sorted([outbox.SENT] * 3 + [outbox.SKIPPED] * 9)
    assert [smtp_server.count(row.message_id) for row in rows] == [1, 1, 1]
    assert len(smtp_server.received) == 3
    assert set(OutboxMessage.objects.values_list("status", "attempts")) == {(OutboxStatus.SENT, 1)}


# --- the command -------------------------------------------------------------


def test_send_mail_queue_delivers_what_is_due_and_prints_counts(db, smtp_server, capsys):
    sent = queue(subject="one")
    refused = queue(subject="two", to=("gone@contoso.test",))
    smtp_server.refused_addresses.add("gone@contoso.test")

    with pytest.raises(SystemExit) as exit_:
        call_command("send_mail_queue")

    assert exit_.value.code == 1
    assert capsys.readouterr().out == "1 sent, 0 to retry, 1 failed, 0 skipped\n"
    assert smtp_server.count(sent.message_id) == 1
    assert smtp_server.count(refused.message_id) == 0

    call_command("send_mail_queue")
    assert capsys.readouterr().out == "0 sent, 0 to retry, 0 failed, 0 skipped\n"


def test_send_mail_queue_refuses_a_limit_below_one(db):
    with pytest.raises(CommandError) as refused:
        call_command("send_mail_queue", "--limit", "0")
    assert str(refused.value) == "--limit must be at least 1."
