"""A fetch receives a chunk of messages in one transaction
(``comms.inbound.receive_batch``): the ledger stays a chain case by case,
a Message-ID is taken once even twice in a chunk, a failing message keeps
back only itself, and a crash mid-chunk leaves nothing half-written and
nothing lost (the next fetch completes it)."""

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms import inbound
from disclosure.comms.fetch import fetch_mail
from disclosure.comms.inbound import receive_batch
from disclosure.comms.models import Communication, InboundMessage, InboundStatus
from disclosure.evidence.models import EvidenceFile, EvidenceKind
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.comms.test_inbound import mail
from tests.comms.test_maildir import deliver, files
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    settings.DISCLOSURE_REFERENCE_PREFIX = "DSC"
    settings.DISCLOSURE_MAILDIR = str(tmp_path / "inbox")
    settings.DISCLOSURE_IMAP_URL = ""


@pytest.fixture
def cases(analyst, lead, vendor):
    return [make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor) for _ in range(2)]


def _reply(case, n: int, **kwargs) -> bytes:
    return mail(
        subject=f"Re: [{case.reference}] reply {n}",
        message_id=f"<reply-{n}@contoso.example>",
        **kwargs,
    )


def _heads(cases) -> list[tuple[int, str]]:
    return [
        tuple(Case.objects.values_list("ledger_seq", "ledger_head").get(pk=c.pk)) for c in cases
    ]


def test_a_chunk_for_two_cases_is_logged_in_order_and_the_chains_verify(cases):
    a, b = cases
    seq_a, seq_b = a.ledger_seq, b.ledger_seq
    raws = [_reply(a, 1), _reply(b, 2), _reply(a, 3), mail(subject="no case", message_id="<x@y>")]
    results = receive_batch(raws, source="imap:INBOX")
    assert [r.message.status for r in results] == ["matched", "matched", "matched", "unmatched"]
    assert [r.duplicate for r in results] == [False, False, False, False]
    kinds_a = list(
        CaseEvent.objects.filter(case=a, seq__gt=seq_a)
        .order_by("seq")
        .values_list("kind", flat=True)
    )
    assert kinds_a == [
        "evidence_attached", "communication_logged", "evidence_attached", "communication_logged"
    ]  # fmt: skip
    logged = CaseEvent.objects.filter(case=a, kind="communication_logged", seq__gt=seq_a)
    assert [e.payload["message_id"] for e in logged.order_by("seq")] == [
        "<reply-1@contoso.example>",
        "<reply-3@contoso.example>",
    ]
    assert CaseEvent.objects.filter(case=b, seq__gt=seq_b).count() == 2
    for case in (a, b):
        last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert _heads([case]) == [(last.seq, last.hash)]
        assert verify_case(case).ok


def test_a_message_id_twice_in_one_chunk_is_logged_once(cases):
    a, _ = cases
    results = receive_batch([_reply(a, 1), _reply(a, 1)], source="imap:INBOX")
    assert [r.duplicate for r in results] == [False, True]
    assert results[0].message.pk == results[1].message.pk
    assert Communication.objects.filter(message_id="<reply-1@contoso.example>").count() == 1
    assert InboundMessage.objects.filter(message_id="<reply-1@contoso.example>").count() == 1


def test_a_message_with_attachments_writes_the_case_head_once(cases):
    """Three events (raw message, attachment, communication), one UPDATE of
    the case row's ledger head, equal to the last event."""
    a, _ = cases
    raw = _reply(a, 1, attachments=[("report.csv", b"host,status\nx,closed\n", "text/csv")])
    with CaptureQueriesContext(connection) as queries:
        (result,) = receive_batch([raw], source="imap:INBOX")
    assert result.message.status == InboundStatus.MATCHED
    head_updates = [
        q["sql"] for q in queries if q["sql"].startswith('UPDATE "cases_case" SET "ledger_seq"')
    ]
    assert len(head_updates) == 1
    events = CaseEvent.objects.filter(case=a).order_by("-seq")[:3]
    assert [e.kind for e in events] == [
        "communication_logged",
        "evidence_attached",
        "evidence_attached",
    ]
    assert _heads([a]) == [(events[0].seq, events[0].hash)]
    assert verify_case(a).ok


def test_a_failing_message_keeps_back_only_itself(cases, monkeypatch):
    """The third message's communication fails (the database, say): the
    chunk is rolled back and received again message by message; the failing
    one is returned as its error with nothing of it written, the others are
    logged once; received again later, it is logged and the rest are
    duplicates."""
    a, b = cases
    raws = [_reply(a, 1), _reply(b, 2), _reply(a, 3), _reply(b, 4)]
    real = inbound.write_communication

    def fail_on_reply_3(**kwargs):
        if kwargs["mail"].message_id == "<reply-3@contoso.example>":
            raise RuntimeError("the database went away")
        return real(**kwargs)

    monkeypatch.setattr(inbound, "write_communication", fail_on_reply_3)
    results = receive_batch(raws, source="imap:INBOX")
    assert isinstance(results[2], RuntimeError)
    assert [r.message.message_id for r in (results[0], results[1], results[3])] == [
        "<reply-1@contoso.example>",
        "<reply-2@contoso.example>",
        "<reply-4@contoso.example>",
    ]
    assert not InboundMessage.objects.filter(message_id="<reply-3@contoso.example>").exists()
    assert not Communication.objects.filter(message_id="<reply-3@contoso.example>").exists()
    assert Communication.objects.filter(case__in=cases, direction="inbound").count() == 3
    assert verify_case(a).ok and verify_case(b).ok

    monkeypatch.setattr(inbound, "write_communication", real)
    again = receive_batch(raws, source="imap:INBOX")
    assert [r.duplicate for r in again] == [True, True, False, True]
    assert Communication.objects.filter(case__in=cases, direction="inbound").count() == 4
    for n in (1, 2, 3, 4):
        assert Communication.objects.filter(message_id=f"<reply-{n}@contoso.example>").count() == 1
    assert verify_case(a).ok and verify_case(b).ok


class Crash(BaseException):
    """The process dying mid-chunk (not an error any handler catches)."""


def test_a_crash_mid_chunk_writes_nothing_and_the_next_fetch_completes_it(
    cases, settings, monkeypatch
):
    a, b = cases
    root = settings.DISCLOSURE_MAILDIR
    for raw in (_reply(a, 1), _reply(b, 2), _reply(a, 3), _reply(b, 4)):
        deliver(root, raw)
    before = {
        "heads": _heads(cases),
        "events": CaseEvent.objects.count(),
        "evidence": EvidenceFile.objects.count(),
    }
    real = inbound.write_communication

    def crash_on_reply_3(**kwargs):
        if kwargs["mail"].message_id == "<reply-3@contoso.example>":
            raise Crash
        return real(**kwargs)

    monkeypatch.setattr(inbound, "write_communication", crash_on_reply_3)
    with pytest.raises(Crash):
        fetch_mail()
    # Nothing half-written: the first two messages rolled back with the chunk.
    assert _heads(cases) == before["heads"]
    assert CaseEvent.objects.count() == before["events"]
    assert EvidenceFile.objects.count() == before["evidence"]
    assert not InboundMessage.objects.exists()
    assert not Communication.objects.filter(direction="inbound").exists()
    # Nothing lost: every message is still unread in the Maildir.
    assert len(files(Path(root), "new")) == 4

    monkeypatch.setattr(inbound, "write_communication", real)
    result = fetch_mail()
    assert result.sources[f"maildir:{root}"].as_dict() == {
        "matched": 4, "unmatched": 0, "duplicates": 0, "refused": 0, "errors": 0
    }  # fmt: skip
    assert files(Path(root), "new") == []
    for n in (1, 2, 3, 4):
        assert Communication.objects.filter(message_id=f"<reply-{n}@contoso.example>").count() == 1
    assert verify_case(a).ok and verify_case(b).ok
    assert fetch_mail().sources[f"maildir:{root}"].matched == 0


def test_messages_filed_after_the_commit_are_not_logged_twice_when_handed_over_again(cases):
    """A crash between the chunk's commit and the mailbox's move hands the
    chunk over again: every message is then a duplicate."""
    a, b = cases
    raws = [_reply(a, 1), _reply(b, 2)]
    receive_batch(raws, source="imap:INBOX")
    events = CaseEvent.objects.count()
    again = receive_batch(raws, source="imap:INBOX")
    assert [r.duplicate for r in again] == [True, True]
    assert CaseEvent.objects.count() == events


def test_a_message_its_case_refuses_rolls_back_only_itself(cases, monkeypatch):
    """A domain refusal (a rule of the log) inside a chunk: that message
    goes to triage, the chunk's other messages are logged."""
    from disclosure.core.errors import ValidationFailed

    a, b = cases
    real = inbound.write_communication

    def refuse_reply_2(**kwargs):
        if kwargs["mail"].message_id == "<reply-2@contoso.example>":
            raise ValidationFailed("The case refuses it.")
        return real(**kwargs)

    monkeypatch.setattr(inbound, "write_communication", refuse_reply_2)
    results = receive_batch([_reply(a, 1), _reply(b, 2), _reply(a, 3)], source="imap:INBOX")
    assert [r.message.status for r in results] == ["matched", "unmatched", "matched"]
    assert "Could not be logged on" in results[1].message.problem
    assert not EvidenceFile.objects.filter(case=b, kind=EvidenceKind.RAW_MESSAGE).exists()
    assert verify_case(a).ok and verify_case(b).ok
