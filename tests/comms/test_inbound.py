"""Received mail becomes the case's communications (comms.inbound): matching
by reference (subject, plus address) and threading headers, the raw message
and attachments as evidence, unknown senders flagged, bounces and
automatic replies marked, a Message-ID never logged twice."""

import hashlib
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from django.db import connection

from disclosure.cases import vendor_view
from disclosure.cases.stages import Stage
from disclosure.comms.inbound import ingest, receive
from disclosure.comms.models import (
    Communication,
    InboundMessage,
    InboundStatus,
    Notice,
    OutboxMessage,
    UndeliverableAddress,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.storage import blob_name, evidence_storage, open_blob
from disclosure.evidence.sweep import sweep_orphan_blobs
from disclosure.exports.bundle import build_bundle
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.comms.test_classify import POSTFIX_DSN
from tests.factories import MembershipFactory, make_case

pytestmark = pytest.mark.django_db

REPLY = "disclosure+{reference}@firm.example"


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.DISCLOSURE_REPLY_ADDRESS = REPLY
    settings.DISCLOSURE_REFERENCE_PREFIX = "DSC"


@pytest.fixture
def case(analyst, lead, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def mail(
    *,
    subject="Re: the exposure",
    sender="Contoso Security <security@contoso.example>",
    to="Disclosure <disclosure@firm.example>",
    body="We closed the container this morning.",
    message_id="<reply-1@contoso.example>",
    date=None,
    attachments=(),
    **headers,
) -> bytes:
    """A message as a mail client writes it (the standard library's
    EmailMessage), as bytes."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or now() - timedelta(minutes=5))
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    for name, content, ctype in attachments:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def test_a_reply_with_the_reference_in_its_subject_is_logged_on_its_case(case, lead):
    raw = mail(subject=f"Re: [{case.reference}] Exposed container")
    row = ingest(raw, source="maildir:/inbox")
    assert (row.status, row.case, row.matched_by) == (InboundStatus.MATCHED, case, "subject")
    comm = row.communication
    assert (comm.direction, comm.channel) == ("inbound", "email")
    assert comm.sender == "Contoso Security <security@contoso.example>"
    assert comm.recipients == ["Disclosure <disclosure@firm.example>"]
    assert comm.subject == f"Re: [{case.reference}] Exposed container"
    assert comm.body == "We closed the container this morning.\n"
    assert comm.message_id == "<reply-1@contoso.example>"
    assert (comm.sender_unknown, comm.automated) == (False, "")
    # the raw message, exactly as received, is hashed evidence of the case
    assert comm.raw_message.kind == "raw_message"
    assert comm.raw_message.sha256 == hashlib.sha256(raw).hexdigest()
    assert row.raw_sha256 == hashlib.sha256(raw).hexdigest()
    with open_blob(comm.raw_message.sha256) as f:
        assert f.read() == raw
    # logged by the system's mail account, which nobody can sign in as
    assert comm.logged_by.username == "disclosure-mail"
    assert comm.logged_by.get_full_name() == "Disclosure mail"
    assert not comm.logged_by.is_active and not comm.logged_by.has_usable_password()
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == "communication_logged"
    assert event.actor_snapshot == {
        "id": comm.logged_by.pk,
        "username": "disclosure-mail",
        "name": "Disclosure mail",
        "organization": None,
        "role": "system",
    }
    assert verify_case(case).ok
    # staff hear of it (the lead: no assignee, no watchers)
    assert Notice.objects.filter(case=case, user=lead).count() == 1


def test_the_plus_address_matches_without_a_reference_in_the_subject(case):
    to = REPLY.format(reference=case.reference)
    row = ingest(mail(subject="Re: your mail", to=to), source="maildir:/inbox")
    assert (row.status, row.case, row.matched_by) == ("matched", case, "address")


def test_delivered_to_carries_the_plus_address_too(case):
    raw = mail(
        subject="Hello",
        to="undisclosed-recipients:;",
        Delivered_To=REPLY.format(reference=case.reference).lower(),
    )
    row = ingest(raw, source="imap:INBOX")
    assert (row.case, row.matched_by) == (case, "address")


def test_in_reply_to_matches_one_of_our_messages(case):
    first = ingest(mail(subject=f"[{case.reference}] x"), source="m")
    raw = mail(subject="Re: x", message_id="<reply-2@contoso.example>",
               In_Reply_To=first.message_id)  # fmt: skip
    row = ingest(raw, source="m")
    assert (row.case, row.matched_by) == (case, "in_reply_to")
    assert row.communication.in_reply_to == "<reply-1@contoso.example>"


def test_references_match_the_outbox(case):
    OutboxMessage.objects.create(
        message_id="<notice-1@firm.example>", purpose="vendor_mail", case=case,
        from_email="disclosure@firm.example", recipients=["security@contoso.example"],
        raw=b"x", next_attempt_at=now(), created_at=now(),
    )  # fmt: skip
    raw = mail(subject="Re: x", References="<other@elsewhere.example> <notice-1@firm.example>")
    row = ingest(raw, source="m")
    assert (row.case, row.matched_by) == (case, "references")
    assert row.communication.references == "<other@elsewhere.example> <notice-1@firm.example>"


def test_an_unmatched_message_waits_in_triage_with_its_raw_bytes(case):
    raw = mail(subject="A tip about a bucket", sender="someone@elsewhere.example")
    row = ingest(raw, source="m")
    assert (row.status, row.case, row.communication) == ("unmatched", None, None)
    assert (row.sender, row.subject) == ("someone@elsewhere.example", "A tip about a bucket")
    with open_blob(row.raw_sha256) as f:
        assert f.read() == raw
    assert Communication.objects.filter(case=case, direction="inbound").count() == 0


def test_an_unknown_sender_is_flagged_not_dropped_and_its_files_stay_internal(case):
    raw = mail(
        subject=f"[{case.reference}] I found your data",
        sender="Stranger <stranger@elsewhere.example>",
        attachments=[("dump.csv", b"a,b\n1,2\n", "text/csv")],
    )
    comm = ingest(raw, source="m").communication
    assert comm.sender_unknown is True
    assert comm.raw_message.internal is True
    assert [f.internal for f in comm.attachments.all()] == [True]


def test_mail_from_an_unknown_sender_never_reaches_the_vendor(case, vendor):
    """A third party quoting the reference writes to the firm, not to the
    vendor: the message, its ledger event and its files stay internal (the
    portal had shown it to the vendor)."""
    known = ingest(mail(subject=f"Re: [{case.reference}] fixed"), source="m").communication
    stranger = ingest(
        mail(
            subject=f"[{case.reference}] I found your data",
            sender="Stranger <stranger@elsewhere.example>",
            message_id="<stranger-1@elsewhere.example>",
        ),
        source="m",
    ).communication
    notice = Communication.objects.get(case=case, direction="outbound")  # the first notice
    assert [c.pk for c in vendor_view.communications(case)] == [known.pk, notice.pk]
    logged = CaseEvent.objects.filter(case=case, kind="communication_logged")
    internal = {e.payload["communication_id"]: e.internal for e in logged}
    assert internal == {notice.pk: False, known.pk: False, stranger.pk: True}
    bundle = build_bundle(
        case=case, variant="vendor", communications="full", generated_at=now(), checkpoint=None
    )
    assert [c["id"] for c in bundle["records"]["communications"]] == [notice.pk, known.pk]


@pytest.mark.parametrize("how", ["security_contact", "vendor_contact", "subdomain"])
def test_known_senders(case, vendor, how):
    sender = {
        "security_contact": "psirt@contoso-group.example",
        "vendor_contact": "jane@contoso-mail.example",
        "subdomain": "noc@eu.contoso.example",
    }[how]
    vendor.security_contacts = ["PSIRT <psirt@contoso-group.example>"]
    vendor.save(update_fields=["security_contacts"])
    contact = MembershipFactory(organization=vendor, role="vendor_contact").user
    contact.email = "Jane@Contoso-Mail.example"
    contact.save(update_fields=["email"])
    comm = ingest(mail(subject=f"[{case.reference}]", sender=sender), source="m").communication
    assert comm.sender_unknown is False


def test_attachments_become_evidence_with_their_sha256(case):
    pdf = b"%PDF-1.4\n%\xc7\xec\x8f\xa2\nretest\n"
    raw = mail(
        subject=f"[{case.reference}] retest",
        attachments=[("retest.pdf", pdf, "application/pdf"), ("notes.txt", b"ok\n", "text/plain")],
    )
    comm = ingest(raw, source="m").communication
    files = {f.original_name: f for f in comm.attachments.all()}
    assert set(files) == {"retest.pdf", "notes.txt"}
    assert files["retest.pdf"].sha256 == hashlib.sha256(pdf).hexdigest()
    assert files["retest.pdf"].size == len(pdf)
    assert files["notes.txt"].sha256 == hashlib.sha256(b"ok\n").hexdigest()
    assert {f.kind for f in files.values()} == {"attachment"}
    assert files["retest.pdf"].internal is False  # a known sender's file is shared


def test_a_message_id_is_never_logged_twice(case):
    raw = mail(subject=f"[{case.reference}] once")
    first = receive(raw, source="m")
    events = CaseEvent.objects.filter(case=case).count()
    again = receive(raw, source="other")
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.message.pk == first.message.pk
    # a different message reusing the Message-ID changes nothing either
    assert ingest(mail(subject=f"[{case.reference}] twice"), source="m").pk == first.message.pk
    assert Communication.objects.filter(case=case, direction="inbound").count() == 1
    assert CaseEvent.objects.filter(case=case).count() == events
    assert InboundMessage.objects.count() == 1


def test_a_message_logged_by_hand_before_is_not_logged_again(case, analyst):
    import io

    from disclosure.cases.guards import locked_case
    from disclosure.comms.services import MailHeaders, write_communication
    from disclosure.evidence.services import IncomingFile, write_evidence

    raw = mail(subject=f"[{case.reference}] hand")
    with locked_case(case, actor=analyst, action="log_communication") as locked:
        ev = write_evidence(case=locked, actor=analyst, file=IncomingFile(
            name="m.eml", stream=io.BytesIO(raw), kind="raw_message"))  # fmt: skip
        write_communication(
            case=locked, actor=analyst, direction="inbound", channel="email", sender="a@b",
            recipients=["c@d"], body="x", occurred_at=now(),
            mail=MailHeaders(message_id="<reply-1@contoso.example>", raw_message=ev),
        )  # fmt: skip
    received = receive(raw, source="m")
    assert received.duplicate is True
    assert (received.message.status, received.message.case) == ("matched", case)
    assert "logged before" in received.message.problem
    assert Communication.objects.filter(case=case, direction="inbound").count() == 1


def test_a_message_without_message_id_is_named_by_its_hash(case):
    raw = mail(subject=f"[{case.reference}] no id", message_id=None)
    row = ingest(raw, source="m")
    assert row.message_id == f"<{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"
    assert "no Message-ID" in row.problem
    assert ingest(raw, source="m").pk == row.pk
    assert Communication.objects.filter(case=case, direction="inbound").count() == 1


def test_our_own_message_coming_back_is_refused(case):
    OutboxMessage.objects.create(
        message_id="<ours@firm.example>", purpose="notification", case=None,
        from_email="d@firm.example", recipients=["x@firm.example"], raw=b"x",
        next_attempt_at=now(), created_at=now(),
    )  # fmt: skip
    row = ingest(mail(message_id="<ours@firm.example>"), source="m")
    assert (row.status, row.problem) == ("refused", "Disclosure sent this message itself.")


def test_a_bounce_marks_the_address_and_is_shown_as_a_bounce(case):
    OutboxMessage.objects.create(
        message_id="<first-notice@firm.example>", purpose="vendor_mail", case=case,
        from_email="disclosure@firm.example", recipients=["security@contoso.example"],
        raw=b"x", next_attempt_at=now(), created_at=now(),
    )  # fmt: skip
    row = ingest(POSTFIX_DSN, source="m")
    assert (row.status, row.case, row.matched_by) == ("matched", case, "bounced")
    assert row.automated == "bounce"
    assert row.communication.automated == "bounce"
    bad = UndeliverableAddress.objects.get()
    assert (bad.address, bad.report) == ("security@contoso.example", row)
    assert bad.reason.startswith("5.1.1")


def test_a_bounce_of_a_message_we_did_not_send_marks_nothing(case):
    raw = POSTFIX_DSN.replace(b"<first-notice@firm.example>", b"<forged@firm.example>")
    row = ingest(raw, source="m")
    assert (row.status, row.automated) == ("unmatched", "bounce")
    assert UndeliverableAddress.objects.count() == 0
    assert row.problem == (
        "The report names security@contoso.example as failed, but not as a recipient of a "
        "message Disclosure sent: not marked undeliverable."
    )


def test_a_bounce_marks_only_the_recipients_of_our_message(case):
    OutboxMessage.objects.create(
        message_id="<first-notice@firm.example>", purpose="vendor_mail", case=case,
        from_email="disclosure@firm.example", recipients=["ciso@contoso.example"],
        raw=b"x", next_attempt_at=now(), created_at=now(),
    )  # fmt: skip
    row = ingest(POSTFIX_DSN, source="m")
    assert row.case == case
    assert UndeliverableAddress.objects.count() == 0
    assert "not marked undeliverable" in row.problem


def test_an_automatic_reply_is_logged_marked_and_tells_nobody(case, lead):
    raw = mail(subject=f"Automatic reply: [{case.reference}] x", Auto_Submitted="auto-replied")
    comm = ingest(raw, source="m").communication
    assert comm.automated == "auto_reply"
    assert Notice.objects.filter(case=case).count() == 0


def test_a_message_over_the_size_cap_is_refused_and_not_stored(case, settings):
    settings.DISCLOSURE_MAIL_MAX_BYTES = 2000
    raw = mail(subject=f"[{case.reference}] big", body="x" * 3000)
    row = ingest(raw, source="m")
    assert row.status == "refused"
    assert row.problem == f"The message is {len(raw):,} bytes, more than the 2,000 allowed."
    assert row.message_id == "<reply-1@contoso.example>"
    assert (row.raw_size, row.subject) == (len(raw), f"[{case.reference}] big")
    assert not evidence_storage().exists(blob_name(row.raw_sha256))
    assert ingest(raw, source="m").pk == row.pk  # refused once, not again


def test_a_date_in_the_future_or_before_the_case_is_logged_as_received(case):
    raw = mail(subject=f"[{case.reference}]", date=now() + timedelta(days=30))
    before = now()
    comm = ingest(raw, source="m").communication
    assert before <= comm.occurred_at <= now()


def test_the_orphan_sweep_keeps_the_raw_bytes_of_waiting_mail(case):
    row = ingest(mail(subject="unmatched"), source="m")
    orphan = hashlib.sha256(b"orphan").hexdigest()
    evidence_storage().save(blob_name(orphan), __import__("io").BytesIO(b"orphan"))
    result = sweep_orphan_blobs(older_than=now() + timedelta(hours=1))
    assert result.deleted == [orphan]
    assert evidence_storage().exists(blob_name(row.raw_sha256))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_fetches_of_the_same_message_at_once_log_it_once(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    raw = mail(subject=f"[{case.reference}] race")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(receive(raw, source="m"))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.duplicate for r in results) == [False, True]
    assert len({r.message.pk for r in results}) == 1
    assert Communication.objects.filter(case=case, direction="inbound").count() == 1
    assert InboundMessage.objects.count() == 1
    assert EvidenceFile.objects.filter(case=case, kind="raw_message").count() == 1
    assert verify_case(case).ok


def test_a_message_its_case_refuses_waits_in_triage_and_nothing_is_half_written(case, monkeypatch):
    from disclosure.comms import inbound
    from disclosure.core.errors import ValidationFailed

    def refuse(**kwargs):
        raise ValidationFailed("The case refuses it.")

    monkeypatch.setattr(inbound, "write_communication", refuse)
    events = CaseEvent.objects.filter(case=case).count()
    files = EvidenceFile.objects.filter(case=case).count()
    row = ingest(mail(subject=f"[{case.reference}] refused"), source="m")
    assert (row.status, row.case, row.communication) == ("unmatched", None, None)
    assert row.problem == f"Could not be logged on {case.reference}: The case refuses it."
    assert CaseEvent.objects.filter(case=case).count() == events  # no raw evidence left behind
    assert EvidenceFile.objects.filter(case=case).count() == files


def test_the_vendor_sees_its_mail_logged_by_the_system(case, vendor_contact, client):
    from django.urls import reverse

    ingest(mail(subject=f"[{case.reference}] closed now"), source="m")
    client.force_login(vendor_contact)
    page = client.get(reverse("portal:case_detail", args=[case.reference])).content.decode()
    assert f"[{case.reference}] closed now" in page
    assert "We closed the container this morning." in page
