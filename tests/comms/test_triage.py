"""Received mail that matched no case, handled by staff (comms.triage):
attach, open a new case from it, discard; who may, and what is recorded."""

import hashlib

import pytest

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms.inbound import ingest
from disclosure.comms.models import Communication, InboundMessage
from disclosure.comms.triage import (
    AlreadyTriaged,
    attach_inbound,
    discard_inbound,
    open_case_from_inbound,
    waiting_count,
)
from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.comms.test_inbound import mail
from tests.factories import capture, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


@pytest.fixture
def waiting(db):
    raw = mail(
        subject="Your bucket is open",
        sender="Stranger <stranger@elsewhere.example>",
        attachments=[("listing.txt", b"files\n", "text/plain")],
    )
    row = ingest(raw, source="maildir:/inbox")
    assert row.status == "unmatched"
    row.raw = raw
    return row


def test_attach_logs_the_message_on_the_case(waiting, case, analyst):
    row = attach_inbound(actor=analyst, message=waiting, case=case)
    row.refresh_from_db()
    assert (row.status, row.case, row.matched_by) == ("attached", case, "triage")
    assert (row.triaged_by, row.triage_reason) == (analyst, "")
    assert row.triaged_at is not None
    comm = row.communication
    assert (comm.direction, comm.subject, comm.logged_by) == (
        "inbound",
        "Your bucket is open",
        analyst,
    )
    assert comm.sender_unknown is True
    assert comm.raw_message.sha256 == hashlib.sha256(waiting.raw).hexdigest()
    assert [f.original_name for f in comm.attachments.all()] == ["listing.txt"]
    assert verify_case(case).ok
    assert waiting_count() == 0


def test_a_message_is_triaged_once(waiting, case, analyst, lead):
    attach_inbound(actor=analyst, message=waiting, case=case)
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(AlreadyTriaged, match=r"attached to a case from triage by .+ at "):
        attach_inbound(actor=lead, message=waiting, case=case)
    with pytest.raises(AlreadyTriaged):
        discard_inbound(actor=lead, message=waiting, reason="spam")
    assert CaseEvent.objects.filter(case=case).count() == events
    assert Communication.objects.filter(case=case, direction="inbound").count() == 1


def test_a_message_matched_on_arrival_is_not_triaged(case, analyst):
    row = ingest(mail(subject=f"[{case.reference}] hi"), source="m")
    with pytest.raises(AlreadyTriaged, match="logged on its case"):
        discard_inbound(actor=analyst, message=row, reason="no")


def test_discard_needs_a_reason_and_is_recorded(waiting, lead):
    with pytest.raises(ValidationFailed, match="Say why") as exc:
        discard_inbound(actor=lead, message=waiting, reason="  ")
    assert exc.value.field == "reason"
    row = discard_inbound(actor=lead, message=waiting, reason="Spam")
    row.refresh_from_db()
    assert (row.status, row.triaged_by, row.triage_reason) == ("discarded", lead, "Spam")
    # the same message arriving again is not ingested again
    again = ingest(waiting.raw, source="imap:INBOX")
    assert (again.pk, again.status) == (row.pk, "discarded")
    assert InboundMessage.objects.count() == 1


def test_a_refused_message_can_only_be_discarded(case, analyst, settings):
    settings.DISCLOSURE_MAIL_MAX_BYTES = 100
    row = ingest(mail(subject="big"), source="m")
    assert row.status == "refused"
    assert waiting_count() == 1
    with pytest.raises(ValidationFailed, match="can only be discarded"):
        attach_inbound(actor=analyst, message=row, case=case)
    assert discard_inbound(actor=analyst, message=row, reason="Too big").status == "discarded"


def test_open_a_case_from_a_message(waiting, analyst, vendor):
    case = open_case_from_inbound(
        actor=analyst,
        message=waiting,
        vendor=vendor,
        title="Bucket reported by mail",
        asset_provider="aws",
        asset_kind="s3_bucket",
        asset_identifier="s3://reported-bucket",
        how_found="Reported by mail",
        found_at=now(),
        exposure_evidence=[capture()],
    )
    row = InboundMessage.objects.get(pk=waiting.pk)
    assert (row.status, row.case, row.triaged_by) == ("new_case", case, analyst)
    assert case.stage == Stage.FOUND
    assert Communication.objects.get(case=case).subject == "Your bucket is open"
    assert verify_case(case).ok


def test_a_refused_case_writes_nothing(waiting, analyst, vendor):
    cases = Case.objects.count()
    with pytest.raises(ValidationFailed):
        open_case_from_inbound(
            actor=analyst, message=waiting, vendor=vendor, title="", asset_provider="aws",
            asset_kind="s3_bucket", asset_identifier="s3://x", how_found="Mail",
            found_at=now(), exposure_evidence=[capture()],
        )  # fmt: skip
    assert Case.objects.count() == cases
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"


@pytest.mark.parametrize("who", ["legal", "vendor_contact", "outsider"])
def test_only_analysts_leads_and_admins_triage(waiting, case, who, request):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted, match="not allowed to triage mail"):
        attach_inbound(actor=actor, message=waiting, case=case)
    with pytest.raises(NotPermitted):
        discard_inbound(actor=actor, message=waiting, reason="x")
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"


def test_anonymous_is_refused(waiting, case):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(NotPermitted):
        discard_inbound(actor=AnonymousUser(), message=waiting, reason="x")


@pytest.mark.parametrize("who", ["analyst", "lead", "admin_user"])
def test_workers_discard(waiting, who, request):
    actor = request.getfixturevalue(who)
    assert discard_inbound(actor=actor, message=waiting, reason="Spam").status == "discarded"


def test_attaching_to_a_case_that_does_not_exist_changes_nothing(waiting, analyst):
    ghost = Case(pk=987654321, reference="DSC-2026-9999")
    with pytest.raises(NotFound):
        attach_inbound(actor=analyst, message=waiting, case=ghost)
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"
    assert Communication.objects.filter(direction="inbound").count() == 0
