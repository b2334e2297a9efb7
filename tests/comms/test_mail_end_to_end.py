"""Issue 17's end-to-end story, on PostgreSQL with a real Celery worker
(a subprocess) on Redis, a real SMTP server (aiosmtpd) and a real IMAP
server (Dovecot): staff write to the vendor from the case, the SMTP server
receives it; the vendor's reply is delivered into Dovecot, the fetch task
(run by the worker) reads it, matches it to the case by In-Reply-To and
logs it; the staff who follow the case are mailed. Every message arrives
once, counted at the SMTP server; a second fetch changes nothing."""

import email.policy
import hashlib
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest

from disclosure.cases.stages import Stage
from disclosure.comms import tasks
from disclosure.comms.models import (
    Communication,
    Direction,
    InboundMessage,
    InboundStatus,
    OutboxMessage,
    OutboxStatus,
)
from disclosure.comms.outbound import send_case_mail
from disclosure.core.timeutils import now
from disclosure.evidence.storage import open_blob
from tests.factories import make_case

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.mail]

FROM = "disclosure@firm.example"
REPLY_ADDRESS = "disclosure+{reference}@firm.example"
VENDOR = "psirt@contoso.example"


@pytest.fixture
def mail_settings(settings, tmp_path, smtp_server, imap_mailbox, _private_storage):
    """The same mail settings here (where staff compose) and in the worker
    (the subprocess's environment, returned)."""
    maildir = tmp_path / "local-maildir"  # empty: the IMAP mailbox is the source here
    anchor = tmp_path / "worker-anchor"
    values = {
        "DEFAULT_FROM_EMAIL": FROM,
        "DISCLOSURE_MAIL_DOMAIN": "firm.example",
        "DISCLOSURE_REPLY_ADDRESS": REPLY_ADDRESS,
        "DISCLOSURE_MAILDIR": str(maildir),
        "DISCLOSURE_SITE_URL": "https://disclosure.firm.example",
    }
    for name, value in values.items():
        setattr(settings, name, value)
    return {
        **values,
        **smtp_server.env(),
        "DISCLOSURE_IMAP_URL": imap_mailbox.url(),
        "DISCLOSURE_IMAP_CA": imap_mailbox.ca_path,
        "PRIVATE_STORAGE_ROOT": str(_private_storage),  # evidence the test reads back
        "DISCLOSURE_ANCHOR_DIR": str(anchor),
        "DISCLOSURE_LEDGER_SIGNING_KEY": settings.DISCLOSURE_LEDGER_SIGNING_KEY,
    }


def wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def vendor_reply(sent_id: str, reference: str, subject: str) -> tuple[str, bytes]:
    """The vendor's answer to ``sent_id``, as its mail system would write it."""
    reply = EmailMessage(policy=email.policy.SMTP)
    reply_id = make_msgid(domain="contoso.example")
    reply["From"] = f"Contoso PSIRT <{VENDOR}>"
    reply["To"] = REPLY_ADDRESS.format(reference=reference)
    reply["Subject"] = f"Re: {subject}"
    reply["Date"] = format_datetime(now())
    reply["Message-ID"] = reply_id
    reply["In-Reply-To"] = sent_id
    reply["References"] = sent_id
    reply.set_content("Thank you. The bucket is private now.\n\nContoso PSIRT\n")
    return reply_id, reply.as_bytes()


def test_compose_send_reply_fetch_match_log_and_tell_staff(
    mail_settings, smtp_server, imap_mailbox, worker_processes, worker_queue, analyst, lead, vendor
):
    vendor.security_contacts = [VENDOR]
    vendor.domains = ["contoso.example"]
    vendor.save()
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    worker_processes(mail_settings)

    # 1. Staff write to the vendor; the worker hands it to the SMTP server.
    sent = send_case_mail(
        actor=analyst,
        case=case,
        to=[VENDOR],
        subject="Exposed bucket",
        body="We found your bucket open.\nPlease close it.\n",
    )
    received = smtp_server.wait_for(1)
    outbox_row = OutboxMessage.objects.get(communication=sent)
    wait_for(
        lambda: OutboxMessage.objects.get(pk=outbox_row.pk).status == OutboxStatus.SENT, "sent"
    )
    outbox_row.refresh_from_db()
    assert received[0].message_id == sent.message_id
    assert received[0].rcpt_tos == (VENDOR,)
    assert received[0].mail_from == FROM
    assert received[0].raw == bytes(outbox_row.raw)
    # The evidence kept is what the vendor got.
    assert sent.raw_message.sha256 == hashlib.sha256(received[0].raw).hexdigest()
    assert received[0].message["Subject"] == f"[{case.reference}] Exposed bucket"
    assert received[0].message["Reply-To"] == f"disclosure+{case.reference}@firm.example"
    assert outbox_row.server_response == "250 2.0.0 Ok: queued as 1"

    # 2. The vendor answers; its mail lands in the IMAP mailbox.
    reply_id, reply_raw = vendor_reply(sent.message_id, case.reference, sent.subject)
    imap_mailbox.deliver(reply_raw)

    # 3. The beat's fetch task, run by the worker, reads, matches and logs it.
    tasks.fetch_mail.apply_async(queue=worker_queue)
    answer = wait_for(
        lambda: Communication.objects.filter(case=case, message_id=reply_id).first(),
        "the reply logged on the case",
    )
    assert answer.direction == Direction.INBOUND
    assert answer.sender == f"Contoso PSIRT <{VENDOR}>"
    assert answer.in_reply_to == sent.message_id
    assert answer.sender_unknown is False
    assert answer.automated == ""
    assert answer.body.splitlines() == [
        "Thank you. The bucket is private now.",
        "",
        "Contoso PSIRT",
    ]
    assert answer.raw_message.sha256 == hashlib.sha256(reply_raw).hexdigest()
    with open_blob(answer.raw_message.sha256) as kept:  # stored by the worker
        assert kept.read() == reply_raw
    inbound = InboundMessage.objects.get(message_id=reply_id)
    assert (inbound.status, inbound.case_id) == (InboundStatus.MATCHED, case.pk)
    wait_for(lambda: imap_mailbox.messages("Processed"), "the reply moved to Processed")
    assert imap_mailbox.messages("INBOX") == []

    # 4. The staff who follow the case (here its lead: no assignee, no watchers) are mailed.
    notices = smtp_server.wait_for(2)
    notice = notices[1]
    assert notice.rcpt_tos == (lead.email,)
    assert notice.message["Subject"] == f"[{case.reference}] Message from the vendor"
    assert "Thank you. The bucket is private now." in notice.message.get_body().get_content()

    # 5. Once: a second fetch finds nothing new and nobody is mailed again.
    tasks.fetch_mail.apply_async(queue=worker_queue)
    tasks.dispatch_outbox.apply_async(queue=worker_queue)
    time.sleep(3)
    assert Communication.objects.filter(case=case, message_id=reply_id).count() == 1
    assert [smtp_server.count(r.message_id) for r in smtp_server.received] == [1, 1]
    assert len(smtp_server.received) == 2
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
