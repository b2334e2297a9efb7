"""Mail to the vendor from the case (comms.outbound.send_case_mail): the
headers, the raw message kept as evidence equal to what the mail backend
got, recording the notice in the same transaction, and the recipient rules."""

import email
import email.policy
import hashlib
import io

import pytest
from django.core import mail

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms.models import (
    Communication,
    Direction,
    OutboxMessage,
    OutboxStatus,
    UndeliverableAddress,
)
from disclosure.comms.outbound import send_case_mail
from disclosure.core.errors import NotFound, NotPermitted, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import MembershipFactory, capture, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "disclosure@firm.example"
    settings.DISCLOSURE_MAIL_DOMAIN = "firm.example"
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"


@pytest.fixture
def found(analyst, vendor):
    vendor.security_contacts = ["psirt@contoso.example"]
    vendor.domains = ["contoso.example", "contoso-cloud.example"]
    vendor.save()
    return make_case(Stage.FOUND, actor=analyst, vendor=vendor)


@pytest.fixture
def notified(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def written(case):
    return (
        Communication.objects.filter(case=case).count(),
        OutboxMessage.objects.count(),
        EvidenceFile.objects.filter(case=case).count(),
        CaseEvent.objects.filter(case=case).count(),
        Case.objects.get(pk=case.pk).stage,
    )


def send(actor, case, capture_callbacks, **changes):
    kwargs = {
        "to": ["psirt@contoso.example"],
        "subject": "Exposed bucket",
        "body": "We found your bucket open.\nPlease close it.",
        **changes,
    }
    with capture_callbacks(execute=True):
        return send_case_mail(actor=actor, case=case, **kwargs)


def parsed(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_headers_and_raw_evidence_match_what_the_backend_received(
    analyst, found, django_capture_on_commit_callbacks
):
    comm = send(analyst, found, django_capture_on_commit_callbacks, cc=["ciso@contoso.example"])
    assert len(mail.outbox) == 1
    sent = mail.outbox[0].message().as_bytes(linesep="\r\n")
    msg = parsed(sent)
    ref = found.reference
    assert msg["Subject"] == f"[{ref}] Exposed bucket"
    assert msg["From"] == "disclosure@firm.example"
    assert msg["To"] == "psirt@contoso.example"
    assert msg["Cc"] == "ciso@contoso.example"
    assert msg["Reply-To"] == f"disclosure+{ref}@firm.example"
    assert msg["Message-ID"].endswith("@firm.example>")
    assert msg["In-Reply-To"] is None
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.rstrip("\n") == "We found your bucket open.\nPlease close it."
    # The communication, the raw evidence and the outbox hold the same message.
    comm.refresh_from_db()
    assert comm.direction == Direction.OUTBOUND
    assert comm.channel == "email"
    assert comm.message_id == msg["Message-ID"]
    assert comm.subject == f"[{ref}] Exposed bucket"
    assert comm.recipients == ["psirt@contoso.example", "cc: ciso@contoso.example"]
    raw = comm.raw_message
    assert raw.kind == EvidenceKind.RAW_MESSAGE
    assert raw.internal is False
    assert raw.sha256 == hashlib.sha256(sent).hexdigest()
    row = comm.outbox
    assert hashlib.sha256(bytes(row.raw)).hexdigest() == raw.sha256
    assert row.status == OutboxStatus.SENT
    assert row.attempts == 1
    assert row.purpose == "vendor_mail"
    assert row.recipients == ["psirt@contoso.example", "ciso@contoso.example"]
    assert row.case_id == found.pk
    event = CaseEvent.objects.filter(case=found, kind=EventKind.COMMUNICATION_LOGGED).get()
    assert event.payload["message_id"] == comm.message_id
    assert verify_case(Case.objects.get(pk=found.pk)).ok


def test_a_subject_with_the_reference_keeps_it_once(
    analyst, found, django_capture_on_commit_callbacks
):
    subject = f"Re: [{found.reference}] Exposed bucket"
    comm = send(analyst, found, django_capture_on_commit_callbacks, subject=subject)
    assert comm.subject == subject
    assert parsed(bytes(comm.outbox.raw))["Subject"] == subject


def test_a_reply_carries_in_reply_to_and_references(
    analyst, notified, django_capture_on_commit_callbacks
):
    first = send(analyst, notified, django_capture_on_commit_callbacks,
                 to=["security@contoso.example"])  # fmt: skip
    second = send(analyst, notified, django_capture_on_commit_callbacks,
                  to=["security@contoso.example"], in_reply_to=first)  # fmt: skip
    third = send(analyst, notified, django_capture_on_commit_callbacks,
                 to=["security@contoso.example"], in_reply_to=second)  # fmt: skip
    msg = parsed(mail.outbox[2].message().as_bytes(linesep="\r\n"))
    assert msg["In-Reply-To"] == second.message_id
    assert msg["References"] == f"{first.message_id} {second.message_id}"
    third.refresh_from_db()
    assert third.in_reply_to == second.message_id
    assert third.references == f"{first.message_id} {second.message_id}"


def test_attachments_existing_evidence_and_new_files(
    analyst, found, django_capture_on_commit_callbacks
):
    capture_file = EvidenceFile.objects.get(case=found, kind=EvidenceKind.EXPOSURE_CAPTURE)
    upload = IncomingFile(name="steps.txt", stream=io.BytesIO(b"how to close it\n"))
    comm = send(analyst, found, django_capture_on_commit_callbacks,
                attach_evidence_ids=[capture_file.pk], attachments=[upload])  # fmt: skip
    msg = parsed(mail.outbox[0].message().as_bytes(linesep="\r\n"))
    files = {
        p.get_filename(): p.get_content().replace("\r\n", "\n") for p in msg.iter_attachments()
    }
    assert files == {
        "capture.txt": "listing of the exposed container\n",
        "steps.txt": "how to close it\n",
    }
    names = sorted(comm.attachments.values_list("original_name", flat=True))
    assert names == ["capture.txt", "steps.txt"]
    new = EvidenceFile.objects.get(case=found, original_name="steps.txt")
    assert new.kind == EvidenceKind.ATTACHMENT
    assert new.sha256 == hashlib.sha256(b"how to close it\n").hexdigest()


def test_another_cases_evidence_is_refused(
    analyst, found, vendor, django_capture_on_commit_callbacks
):
    other = make_case(Stage.FOUND, actor=analyst, vendor=vendor, asset_identifier="s3://b2",
                      exposure_evidence=[capture(b"other case")])  # fmt: skip
    theirs = EvidenceFile.objects.get(case=other)
    before = written(found)
    with pytest.raises(ValidationFailed, match=rf"{found.reference} has no evidence file") as e:
        send(analyst, found, django_capture_on_commit_callbacks, attach_evidence_ids=[theirs.pk])
    assert e.value.field == "attach_evidence_ids"
    assert written(found) == before
    assert mail.outbox == []


def test_record_notified_enters_the_stage_with_this_mail_as_notice(
    analyst, found, django_capture_on_commit_callbacks
):
    comm = send(analyst, found, django_capture_on_commit_callbacks, record_notified=True,
                template_key="first_notice")  # fmt: skip
    case = Case.objects.get(pk=found.pk)
    assert case.stage == Stage.VENDOR_NOTIFIED
    assert case.vendor_notified_at == comm.occurred_at
    event = CaseEvent.objects.filter(case=found, kind=EventKind.STAGE_CHANGED).get()
    assert event.payload["notice_communication_id"] == comm.pk
    assert event.payload["milestone"] == "vendor_notified"
    assert event.payload["channel"] == "email"
    assert event.payload["recipients"] == ["psirt@contoso.example"]
    assert verify_case(case).ok


def test_record_notified_after_notification_is_refused_and_writes_nothing(
    analyst, notified, django_capture_on_commit_callbacks
):
    before = written(notified)
    with pytest.raises(TransitionNotAllowed):
        send(analyst, notified, django_capture_on_commit_callbacks, record_notified=True,
             to=["security@contoso.example"])  # fmt: skip
    assert written(notified) == before
    assert mail.outbox == []


def test_a_failure_after_writing_rolls_back_everything(
    analyst, found, django_capture_on_commit_callbacks, monkeypatch
):
    """The stage entry fails last: the evidence, communication and outbox
    row written before it are gone, and nothing is sent."""
    from disclosure.comms import outbound

    def broken(**kwargs):
        raise ValidationFailed("stage refused", field="x")

    monkeypatch.setattr(outbound, "enter_vendor_notified", broken)
    before = written(found)
    with pytest.raises(ValidationFailed, match="stage refused"):
        send(analyst, found, django_capture_on_commit_callbacks, record_notified=True)
    assert written(found) == before
    assert mail.outbox == []


# --- recipients ---------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "psirt@contoso.example",  # a security contact
        "someone@contoso.example",  # at its main domain
        "ops@eu.contoso-cloud.example",  # at a subdomain of one of its domains
        "Contoso PSIRT <psirt@contoso.example>",
    ],
)
def test_known_addresses_are_accepted_after_notification(
    analyst, found, address, django_capture_on_commit_callbacks
):
    send(analyst, found, django_capture_on_commit_callbacks, record_notified=True)
    comm = send(analyst, found, django_capture_on_commit_callbacks, to=[address])
    assert comm.recipients == [address]


def test_a_vendor_contacts_address_is_known(
    analyst, found, vendor, django_capture_on_commit_callbacks
):
    contact = MembershipFactory(organization=vendor, role="vendor_contact").user
    contact.email = "jane@contoso-partner.example"
    contact.save()
    send(analyst, found, django_capture_on_commit_callbacks, record_notified=True)
    comm = send(analyst, found, django_capture_on_commit_callbacks, to=[contact.email])
    assert comm.recipients == ["jane@contoso-partner.example"]
    contact.is_active = False
    contact.save()
    with pytest.raises(ValidationFailed, match=r"jane@contoso-partner\.example is not a known"):
        send(analyst, found, django_capture_on_commit_callbacks, to=[contact.email])


def test_unknown_address_is_refused_after_notification_naming_it(
    analyst, found, django_capture_on_commit_callbacks
):
    send(analyst, found, django_capture_on_commit_callbacks, record_notified=True)
    before = written(found)
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks,
             cc=["boss@elsewhere.example"], found_at_source="rfc2142")  # fmt: skip
    assert e.value.field == "cc"
    assert e.value.message.startswith("boss@elsewhere.example is not a known address of Contoso")
    assert written(found) == before


def test_first_notice_to_an_unknown_address_needs_where_it_was_found(
    analyst, found, django_capture_on_commit_callbacks
):
    before = written(found)
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks, to=["sec@asset-host.example"])
    assert e.value.field == "found_at_source"
    assert "sec@asset-host.example is not a known address of Contoso" in e.value.message
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks, to=["sec@asset-host.example"],
             found_at_source="rfc2142")  # fmt: skip
    assert e.value.message.startswith("sec@asset-host.example is not an RFC 2142 role mailbox")
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks, to=["sec@asset-host.example"],
             found_at_source="https://asset-host.example/contact.html")  # fmt: skip
    assert e.value.field == "found_at_source"
    assert written(found) == before
    comm = send(analyst, found, django_capture_on_commit_callbacks,
                to=["abuse@asset-host.example"], found_at_source="rfc2142")  # fmt: skip
    assert comm.recipients == ["abuse@asset-host.example"]
    comm = send(analyst, found, django_capture_on_commit_callbacks,
                to=["sec@asset-host.example"],
                found_at_source="https://asset-host.example/.well-known/security.txt")  # fmt: skip
    assert comm.recipients == ["sec@asset-host.example"]


@pytest.mark.parametrize(
    ("to", "message"),
    [
        ([], "Say to whom the mail goes."),
        (["not an address"], "'not an address' is not an e-mail address."),
        (["a@contoso.example\nBcc: x@evil.example"], "is not an e-mail address"),
    ],
)
def test_bad_recipients_are_refused(
    analyst, found, to, message, django_capture_on_commit_callbacks
):
    before = written(found)
    with pytest.raises(ValidationFailed, match=message.replace(".", r"\.")):
        send(analyst, found, django_capture_on_commit_callbacks, to=to)
    assert written(found) == before


def test_undeliverable_address_is_refused_with_since_when(
    analyst, found, django_capture_on_commit_callbacks
):
    from datetime import UTC, datetime

    UndeliverableAddress.objects.create(
        address="PSIRT@contoso.example", since=datetime(2026, 1, 5, tzinfo=UTC),
        reason="550 mailbox unknown",
    )  # fmt: skip
    before = written(found)
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks)
    assert e.value.field == "to"
    assert e.value.message == (
        "psirt@contoso.example is undeliverable: a delivery report said so on 2026-01-05 "
        "(550 mailbox unknown). Remove it or use another address."
    )
    assert written(found) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"subject": ""}, "subject"),
        ({"subject": "two\nlines"}, "subject"),
        ({"body": "  "}, "body"),
        ({"template_key": "bogus"}, "template_key"),
        ({"to": "psirt@contoso.example"}, "to"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    analyst, found, changes, field, django_capture_on_commit_callbacks
):
    before = written(found)
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks, **changes)
    assert e.value.field == field
    assert written(found) == before


def test_a_message_of_the_case_is_answered_not_one_of_another_case(
    analyst, found, vendor, django_capture_on_commit_callbacks
):
    other = make_case(Stage.FOUND, actor=analyst, vendor=vendor, asset_identifier="s3://b2",
                      exposure_evidence=[capture(b"other case")])  # fmt: skip
    theirs = send(analyst, other, django_capture_on_commit_callbacks)
    with pytest.raises(ValidationFailed) as e:
        send(analyst, found, django_capture_on_commit_callbacks, in_reply_to=theirs)
    assert e.value.field == "in_reply_to"


def test_who_may_send(
    found, lead, legal, vendor_contact, other_vendor_contact, outsider,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    send(lead, found, django_capture_on_commit_callbacks, record_notified=True)
    with pytest.raises(NotPermitted):
        send(legal, found, django_capture_on_commit_callbacks)
    with pytest.raises(NotPermitted):
        send(vendor_contact, found, django_capture_on_commit_callbacks)
    with pytest.raises(NotFound):
        send(other_vendor_contact, found, django_capture_on_commit_callbacks)
    with pytest.raises(NotFound):
        send(outsider, found, django_capture_on_commit_callbacks)
    assert OutboxMessage.objects.filter(purpose="vendor_mail").count() == 1


def test_nothing_is_sent_before_commit(analyst, found):
    """Without the commit (the test's transaction is rolled back) the
    message waits in the outbox."""
    comm = send_case_mail(actor=analyst, case=found, to=["psirt@contoso.example"],
                          subject="Hello", body="Text")  # fmt: skip
    assert mail.outbox == []
    assert comm.outbox.status == OutboxStatus.QUEUED
    assert comm.occurred_at <= now()
