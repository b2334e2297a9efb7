"""The set-based way a fetch's chunk is taken (``comms.inbound_batch``): the
same records as one message at a time, in a number of statements that does
not grow with the chunk's messages, and everything unusual left to the
one-by-one path (``tests/comms/test_inbound_batch.py`` holds the chunk's
other guarantees)."""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms import inbound_batch, inbound_read
from disclosure.comms.inbound import receive_batch
from disclosure.comms.models import Communication, InboundMessage, InboundStatus
from disclosure.comms.runscope import fetch_run
from disclosure.evidence.models import EvidenceFile
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.comms.test_inbound import mail
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    settings.DISCLOSURE_REFERENCE_PREFIX = "DSC"


@pytest.fixture
def cases(analyst, lead, vendor):
    return [make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor) for _ in range(2)]


def _reply(case, n: int, **kwargs) -> bytes:
    return mail(
        subject=f"Re: [{case.reference}] reply {n}",
        message_id=f"<reply-{n}@contoso.example>",
        **kwargs,
    )


@pytest.fixture
def set_based(monkeypatch) -> list[str]:
    """The Message-IDs the set-based path logged (a spy on its writer)."""
    logged: list[str] = []
    real = inbound_batch._log

    def spy(plans, cases, actor):
        logged.extend(p.incoming.message_id for p in plans)
        return real(plans, cases, actor)

    monkeypatch.setattr(inbound_batch, "_log", spy)
    return logged


def _inserts(queries, table: str) -> int:
    """The statements writing new rows into ``table`` (an INSERT, or a COPY: core.copyrows)."""
    return sum(
        1 for q in queries if q["sql"].startswith((f'INSERT INTO "{table}"', f'COPY "{table}" '))
    )


def test_a_chunk_writes_each_kind_of_row_with_one_insert(cases):
    """Six messages over two cases, two of them with attachments: one
    INSERT each for the evidence, the communications, their attachment
    links, the events and the received messages' rows; one lock query."""
    a, b = cases
    csv = [("extract.csv", b"host,status\nx,open\n", "text/csv")]
    raws = [
        _reply(a, 1), _reply(b, 2, attachments=csv), _reply(a, 3), _reply(b, 4),
        _reply(a, 5, attachments=[("log.txt", b"a log\n", "text/plain")]), _reply(b, 6),
    ]  # fmt: skip
    with fetch_run(), CaptureQueriesContext(connection) as captured:
        results = receive_batch(raws, source="imap:INBOX")
    assert [r.message.status for r in results] == ["matched"] * 6
    queries = captured.captured_queries
    assert _inserts(queries, "evidence_evidencefile") == 1
    assert _inserts(queries, "comms_communication") == 1
    assert _inserts(queries, "comms_communication_attachments") == 1
    assert _inserts(queries, "ledger_caseevent") == 1
    assert _inserts(queries, "comms_inboundmessage") == 1
    assert sum(1 for q in queries if "FOR UPDATE" in q["sql"]) == (
        1 if connection.vendor == "postgresql" else 0
    )
    assert not any("SAVEPOINT" in q["sql"] for q in queries if "comms_" in q["sql"])
    assert EvidenceFile.objects.filter(case__in=cases).filter(kind="attachment").count() == 2
    for case in (a, b):
        last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert tuple(Case.objects.values_list("ledger_seq", "ledger_head").get(pk=case.pk)) == (
            last.seq,
            last.hash,
        )
        assert verify_case(case).ok


def test_a_message_from_an_unknown_sender_is_flagged_and_its_files_kept_internal(cases, set_based):
    a, _ = cases
    content = b"id,name\n1,x\n"
    raw = _reply(
        a, 1, sender="Someone <someone@elsewhere.example>",
        attachments=[("dump.csv", content, "text/csv")],
    )  # fmt: skip
    seq = a.ledger_seq
    (result,) = receive_batch([raw], source="imap:INBOX")
    row = result.message
    assert set_based == ["<reply-1@contoso.example>"]
    assert (row.status, row.case_id, row.matched_by) == ("matched", a.pk, "subject")
    comm = row.communication
    assert comm.sender_unknown is True
    assert comm.raw_message.sha256 == hashlib.sha256(raw).hexdigest()
    assert comm.raw_message.internal is True
    (attachment,) = comm.attachments.all()
    assert (attachment.sha256, attachment.original_name, attachment.kind, attachment.internal) == (
        hashlib.sha256(content).hexdigest(), "dump.csv", "attachment", True
    )  # fmt: skip
    events = list(CaseEvent.objects.filter(case=a, seq__gt=seq).order_by("seq"))
    assert [(e.kind, e.internal) for e in events] == [
        ("evidence_attached", True), ("evidence_attached", True), ("communication_logged", True)
    ]  # fmt: skip
    payload = events[2].payload
    assert payload["communication_id"] == comm.pk
    assert payload["message_id"] == "<reply-1@contoso.example>"
    assert payload["attachments"] == [hashlib.sha256(content).hexdigest()]
    assert payload["sender"] == "Someone <someone@elsewhere.example>"
    assert payload["recipients"] == ["Disclosure <disclosure@firm.example>"]
    assert events[0].payload["kind"] == "raw_message"
    assert events[0].payload["evidence_id"] == comm.raw_message.pk
    assert verify_case(a).ok


def test_an_auto_reply_is_logged_as_such_and_tells_no_one(cases, lead, set_based):
    from disclosure.comms.models import Notice

    a, _ = cases
    notices = Notice.objects.count()
    (auto, reply) = receive_batch(
        [_reply(a, 1, Auto_Submitted="auto-replied"), _reply(a, 2)], source="imap:INBOX"
    )
    assert (auto.message.automated, auto.message.communication.automated) == (
        "auto_reply",
        "auto_reply",
    )
    assert reply.message.communication.automated == ""
    assert set_based == ["<reply-1@contoso.example>", "<reply-2@contoso.example>"]
    assert Notice.objects.count() == notices + 1  # the lead hears of the real reply only
    assert verify_case(a).ok


def test_threading_headers_match_in_a_chunk(cases, set_based):
    a, b = cases
    receive_batch([_reply(a, 1)], source="imap:INBOX")
    raws = [
        mail(subject="Re: no reference", message_id="<r2@c.example>",
             In_Reply_To="<reply-1@contoso.example>"),
        mail(subject="Re: none", message_id="<r3@c.example>",
             References="<x@elsewhere.example> <reply-1@contoso.example>"),
        mail(subject=f"Re: [{b.reference}]", message_id="<r4@c.example>",
             In_Reply_To="<reply-1@contoso.example>"),
        mail(subject="Nothing", message_id="<r5@c.example>"),
    ]  # fmt: skip
    results = receive_batch(raws, source="imap:INBOX")
    assert [(r.message.case_id, r.message.matched_by) for r in results] == [
        (a.pk, "in_reply_to"), (a.pk, "references"), (b.pk, "subject"), (None, ""),
    ]  # fmt: skip
    assert results[3].message.status == InboundStatus.UNMATCHED
    assert set_based[1:] == ["<r2@c.example>", "<r3@c.example>", "<r4@c.example>"]


def test_a_case_whose_row_no_longer_matches_its_ledger_sends_only_its_mail_to_triage(
    cases, set_based
):
    a, b = cases
    Case.objects.filter(pk=b.pk).update(ledger_seq=b.ledger_seq + 5)  # changed behind its back
    results = receive_batch([_reply(a, 1), _reply(b, 2), _reply(a, 3)], source="imap:INBOX")
    assert [r.message.status for r in results] == ["matched", "unmatched", "matched"]
    assert results[1].message.problem.startswith(f"Could not be logged on {b.reference}: ")
    assert not Communication.objects.filter(case=b, direction="inbound").exists()
    assert set_based == ["<reply-1@contoso.example>", "<reply-3@contoso.example>"]
    assert verify_case(a).ok


def test_a_file_its_case_holds_already_is_reused_not_written_twice(cases, set_based):
    a, _ = cases
    content = b"the same report\n"
    files = [("report.txt", content, "text/plain")]
    receive_batch([_reply(a, 1, attachments=files)], source="imap:INBOX")
    results = receive_batch(
        [_reply(a, 2, attachments=files), _reply(a, 3, attachments=files)], source="imap:INBOX"
    )
    assert [r.message.status for r in results] == ["matched", "matched"]
    assert set_based == ["<reply-1@contoso.example>"]  # the next two one by one
    sha = hashlib.sha256(content).hexdigest()
    assert EvidenceFile.objects.filter(case=a, sha256=sha).count() == 1
    for r in results:
        assert [f.sha256 for f in r.message.communication.attachments.all()] == [sha]
    assert verify_case(a).ok


def test_a_failure_of_the_set_based_write_receives_the_chunk_message_by_message(cases, monkeypatch):
    a, b = cases

    def broken(plans, cases, actor):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(inbound_batch, "_log", broken)
    raws = [_reply(a, 1), _reply(b, 2), _reply(a, 1)]
    results = receive_batch(raws, source="imap:INBOX")
    assert [(r.message.status, r.duplicate) for r in results] == [
        ("matched", False), ("matched", False), ("matched", True)
    ]  # fmt: skip
    assert Communication.objects.filter(case__in=cases, direction="inbound").count() == 2
    assert InboundMessage.objects.count() == 2
    assert EvidenceFile.objects.filter(case__in=cases, kind="raw_message").count() == 2
    assert verify_case(a).ok and verify_case(b).ok


def test_messages_read_in_a_worker_process_are_those_read_here(cases):
    """``read_messages(elsewhere=True)`` (the parsing and classifying in a
    forked worker, what an IMAP fetch does for the next chunk): every field,
    the classification and the parsed message's headers as read here; a
    refused message is refused here, not sent to the worker."""
    import dataclasses
    import email.policy

    a, _ = cases
    csv = [("extract.csv", b"host,status\nx,open\n", "text/csv")]
    raws = [_reply(a, 1, attachments=csv), _reply(a, 2, auto_submitted="auto-replied"), b"  "]
    here = inbound_read.read_messages(raws, source="imap:INBOX")
    there = inbound_read.read_messages(raws, source="imap:INBOX", elsewhere=True)
    assert [m.refused for m in there] == ["", "", "The message is empty."]
    assert [m.kind.kind if m.kind else None for m in there] == ["", "auto_reply", None]
    for mine, theirs in zip(here[:2], there[:2], strict=True):
        assert theirs.raw is not None and theirs.raw == mine.raw
        assert (theirs.message_id, theirs.sha, theirs.source) == (
            mine.message_id, mine.sha, mine.source
        )  # fmt: skip
        fields = {f.name for f in dataclasses.fields(mine.mail)} - {"message"}
        assert {n: getattr(theirs.mail, n) for n in fields} == {
            n: getattr(mine.mail, n) for n in fields
        }
        assert theirs.mail.message.policy is email.policy.default
        assert theirs.mail.message.items() == mine.mail.message.items()
        assert str(theirs.mail.message["from"]) == "Contoso Security <security@contoso.example>"


def test_a_chunk_dealt_between_parsing_workers_keeps_its_order(cases, monkeypatch):
    """With more than one parsing worker (``PARSE_PROCESSES``) each message
    comes back in its place, as read here."""
    monkeypatch.setattr(inbound_read, "PARSE_PROCESSES", 3)
    a, _ = cases
    raws = [_reply(a, n) for n in range(7)]
    raws.insert(3, b"")
    here = inbound_read.read_messages(raws, source="imap:INBOX")
    there = inbound_read.read_messages(raws, source="imap:INBOX", elsewhere=True)
    assert [(m.message_id, m.refused) for m in there] == [(m.message_id, m.refused) for m in here]
    assert [m.mail.subject for m in there if m.mail] == [m.mail.subject for m in here if m.mail]
    assert there[3].refused == "The message is empty."
