"""Per-recipient delivery state (comms.recipients, OutboxMessage.delivery_recipients)
against the real SMTP server of tests/mailservers.py: each to/cc/bcc address
pending until the server speaks, accepted or refused with its own answer, a
partly refused message sent once (the accepted never get it again), and the
states shown on the case's communication in the staff UI and the API."""

import importlib

import pytest
from django.apps import apps
from django.core.mail import EmailMessage

from disclosure.cases.stages import Stage
from disclosure.comms import outbox
from disclosure.comms.models import OutboxMessage, OutboxPurpose, OutboxStatus
from disclosure.comms.outbound import send_case_mail
from tests.api.conftest import as_  # noqa: F401 (the API's token clients)
from tests.factories import make_case

pytestmark = pytest.mark.django_db

REFUSED_USER = "550 5.1.1 No such user here"


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.DISCLOSURE_MAIL_RETRY_SECONDS = 60
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 8
    settings.DISCLOSURE_MAIL_LEASE_SECONDS = 300
    settings.DISCLOSURE_MAIL_DOMAIN = "disclosure.test"
    settings.DEFAULT_FROM_EMAIL = "disclosure@disclosure.test"


def queue(to=("security@contoso.test",), cc=(), bcc=()) -> OutboxMessage:
    message = EmailMessage(
        subject="Case DSC-1",
        body="Dear Contoso,\n",
        from_email="disclosure@disclosure.test",
        to=list(to),
        cc=list(cc),
        bcc=list(bcc),
    )
    return outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message)


def states(row: OutboxMessage) -> list[tuple[str, str, str, str]]:
    row.refresh_from_db()
    return [(r["kind"], r["address"], r["state"], r["answer"]) for r in row.delivery_recipients]


def test_queued_every_recipient_is_pending_with_its_kind(db):
    row = queue(to=("a@contoso.test",), cc=("b@contoso.test", "c@contoso.test"), bcc=("d@x.test",))
    assert states(row) == [
        ("to", "a@contoso.test", "pending", ""),
        ("cc", "b@contoso.test", "pending", ""),
        ("cc", "c@contoso.test", "pending", ""),
        ("bcc", "d@x.test", "pending", ""),
    ]


def test_a_refused_cc_is_recorded_and_the_accepted_get_the_message_once(db, smtp_server, clock):
    row = queue(to=("security@contoso.test",), cc=("nobody@contoso.test",))
    smtp_server.refused_addresses.add("nobody@contoso.test")

    assert outbox.deliver(row.pk) == outbox.SENT
    assert states(row) == [
        ("to", "security@contoso.test", "accepted", "250 OK"),
        ("cc", "nobody@contoso.test", "refused", REFUSED_USER),
    ]
    assert row.status == OutboxStatus.SENT
    # The refused one is never retried, so the accepted one never gets it twice.
    clock.advance(24 * 3600)
    assert outbox.deliver(row.pk) == outbox.SKIPPED
    assert outbox.dispatch_due()[outbox.SENT] == 0
    assert smtp_server.count(row.message_id) == 1
    assert smtp_server.commands.count("DATA") == 1
    assert smtp_server.received[0].rcpt_tos == ("security@contoso.test",)


def test_a_deferred_recipient_keeps_everyone_pending_until_the_retry(db, smtp_server, clock):
    row = queue(to=("security@contoso.test", "cert@contoso.test"))
    smtp_server.refuse(452, at="RCPT", times=1, text="4.2.2 Mailbox full")

    assert outbox.deliver(row.pk) == outbox.RETRY
    waits = "SMTPRecipientsRefused: security@contoso.test: 452 4.2.2 Mailbox full"
    assert states(row) == [
        ("to", "security@contoso.test", "pending", "452 4.2.2 Mailbox full"),
        ("to", "cert@contoso.test", "pending", waits),
    ]
    clock.advance(60)
    assert outbox.deliver(row.pk) == outbox.SENT
    assert states(row) == [
        ("to", "security@contoso.test", "accepted", "250 OK"),
        ("to", "cert@contoso.test", "accepted", "250 OK"),
    ]
    assert smtp_server.count(row.message_id) == 1


def test_every_recipient_refused_fails_the_message_with_each_answer(db, smtp_server):
    row = queue(to=("nobody@contoso.test",), cc=("gone@contoso.test",))
    smtp_server.refused_addresses.update({"nobody@contoso.test", "gone@contoso.test"})

    assert outbox.deliver(row.pk) == outbox.FAILED
    assert states(row) == [
        ("to", "nobody@contoso.test", "refused", REFUSED_USER),
        ("cc", "gone@contoso.test", "refused", REFUSED_USER),
    ]
    assert smtp_server.received == []


def test_a_message_refused_at_data_refuses_every_recipient_with_the_error(db, smtp_server):
    row = queue(to=("security@contoso.test",), cc=("cert@contoso.test",))
    smtp_server.refuse(554, at="DATA", text="5.7.1 Message rejected as spam")

    assert outbox.deliver(row.pk) == outbox.FAILED
    error = "SMTPDataError: 554 5.7.1 Message rejected as spam"
    assert states(row) == [
        ("to", "security@contoso.test", "refused", error),
        ("cc", "cert@contoso.test", "refused", error),
    ]


def test_an_unreachable_server_leaves_them_pending(db, settings, clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    row = queue(to=("security@contoso.test",))

    assert outbox.deliver(row.pk) == outbox.UNREACHABLE
    assert states(row) == [("to", "security@contoso.test", "pending", "")]


def test_a_backend_that_takes_messages_whole_accepts_every_recipient(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row = queue(to=("security@contoso.test",), bcc=("archive@firm.test",))

    assert outbox.deliver(row.pk) == outbox.SENT
    answer = "handed to django.core.mail.backends.locmem.EmailBackend"
    assert states(row) == [
        ("to", "security@contoso.test", "accepted", answer),
        ("bcc", "archive@firm.test", "accepted", answer),
    ]


# --- on the case's communication -------------------------------------------


@pytest.fixture
def mailed(analyst, vendor, smtp_server, clock):
    """A mail to the vendor, to psirt@ and cc nobody@ (refused by the server), delivered."""
    vendor.security_contacts = ["psirt@contoso.example"]
    vendor.domains = ["contoso.example"]
    vendor.save()
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    smtp_server.refused_addresses.add("nobody@contoso.example")
    comm = send_case_mail(
        actor=analyst,
        case=case,
        to=["psirt@contoso.example"],
        cc=["nobody@contoso.example"],
        subject="Exposed bucket",
        body="Please close it.",
    )
    assert outbox.deliver(comm.outbox.pk) == outbox.SENT
    return case, comm


def test_the_case_page_shows_each_recipients_delivery(client, analyst, mailed):
    case, comm = mailed
    client.force_login(analyst)
    page = client.get(f"/cases/{case.reference}/communications/").content.decode()
    entry = page[page.index(f'id="communication-{comm.pk}"') :]
    assert "to: psirt@contoso.example — <strong>accepted</strong> <code>250 OK</code>" in entry
    assert (
        f"cc: nobody@contoso.example — <strong>refused</strong> <code>{REFUSED_USER}</code>"
        in entry
    )


def test_the_api_shows_each_recipients_delivery_to_staff_only(
    as_,  # noqa: F811
    analyst,
    vendor_contact,
    mailed,
):
    case, comm = mailed
    url = f"/api/v1/cases/{case.reference}/communications/"
    rows = as_(analyst).get(url).json()["results"]
    delivery = next(r for r in rows if r["id"] == comm.pk)["delivery"]
    assert delivery["status"] == "sent"
    assert delivery["recipients"] == [
        {"address": "psirt@contoso.example", "kind": "to", "state": "accepted", "answer": "250 OK"},
        {"address": "nobody@contoso.example", "kind": "cc", "state": "refused",
         "answer": REFUSED_USER},
    ]  # fmt: skip
    rows = as_(vendor_contact).get(url).json()["results"]
    assert "delivery" not in next(r for r in rows if r["id"] == comm.pk)


# --- the migration's backfill of rows queued before -------------------------


def test_the_migration_backfills_states_the_rows_already_told(db):
    sent = queue(to=("security@contoso.test",), cc=("nobody@contoso.test",))
    failed = queue(to=("gone@contoso.test",))
    waiting = queue(to=("later@contoso.test",))
    OutboxMessage.objects.filter(pk=sent.pk).update(
        status="sent",
        server_response="250 2.0.0 Ok; refused: nobody@contoso.test (550 5.1.1 No such user)",
        delivery_recipients=[],
    )
    OutboxMessage.objects.filter(pk=failed.pk).update(
        status="failed", last_error="SMTPDataError: 554 no", delivery_recipients=[]
    )
    OutboxMessage.objects.filter(pk=waiting.pk).update(delivery_recipients=[])
    migration = importlib.import_module(
        "disclosure.comms.migrations.0005_outbox_delivery_recipients"
    )
    migration.backfill(apps, None)

    assert states(sent) == [
        ("to", "security@contoso.test", "accepted", "250 2.0.0 Ok"),
        ("cc", "nobody@contoso.test", "refused", "550 5.1.1 No such user"),
    ]
    assert states(failed) == [("to", "gone@contoso.test", "refused", "SMTPDataError: 554 no")]
    assert states(waiting) == [("to", "later@contoso.test", "pending", "")]
