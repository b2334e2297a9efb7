"""Communications' search documents (comms/0007, ``comms.searchindex``): a
received chunk's communications are found by search before their
documents are written (just after the chunk's commit) and after, with the
same results; a communication written otherwise gets its document in its
own INSERT; the stored document is the vector ``cases.search`` describes."""

import pytest
from django.db import connection, transaction
from django.utils.timezone import now

from disclosure.cases.models import Case
from disclosure.cases.search import COMMUNICATION_DOCUMENT, search_cases, search_vector
from disclosure.cases.stages import Stage
from disclosure.comms import searchindex
from disclosure.comms.inbound import receive_batch
from disclosure.comms.models import (
    Communication,
    CommunicationSearch,
    CommunicationSearchPending,
    InboundStatus,
)
from tests.comms.test_inbound import mail
from tests.factories import make_case

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

LONG_BODY = "opening words\n" + "filler " * 700 + "\nlatecomer\n"  # "latecomer" after 4,000


@pytest.fixture(autouse=True)
def _postgresql_and_mail_settings(settings):
    if connection.vendor != "postgresql":
        pytest.skip("search documents are PostgreSQL's (SQLite matches substrings)")
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    settings.DISCLOSURE_REFERENCE_PREFIX = "DSC"


@pytest.fixture
def case(analyst, lead, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def _reply(case, n: int, body: str = "The bucket is closed now, zanzibar.\n") -> bytes:
    return mail(
        subject=f"Re: [{case.reference}] reply {n}",
        message_id=f"<reply-{n}@contoso.example>",
        body=body,
    )


def _found(text: str, *, staff: bool = True) -> list[int]:
    return list(search_cases(Case.objects.all(), text, staff=staff).values_list("pk", flat=True))


def _stored_equals_vector(ids) -> bool:
    """Each stored document is what search_vector(*COMMUNICATION_DOCUMENT) computes."""
    vectors = dict(
        Communication.objects.filter(pk__in=ids).values_list(
            "pk", search_vector(*COMMUNICATION_DOCUMENT)
        )
    )
    stored = dict(
        CommunicationSearch.objects.filter(communication_id__in=ids).values_list(
            "communication_id", "document"
        )
    )
    return len(stored) == len(ids) and stored == vectors


def test_a_received_chunk_is_found_before_and_after_its_documents_are_written(case):
    with transaction.atomic():  # as a fetch's chunk: its own transaction
        results = receive_batch(
            [_reply(case, 1), _reply(case, 2, body=LONG_BODY)], source="imap:INBOX"
        )
    assert [r.message.status for r in results] == [InboundStatus.MATCHED] * 2
    ids = [r.message.communication_id for r in results]
    assert set(CommunicationSearchPending.objects.values_list("communication_id", flat=True)) == (
        set(ids)
    )
    assert not CommunicationSearch.objects.filter(communication_id__in=ids).exists()
    queries = ["zanzibar", "opening", "security@contoso.example", "latecomer", "nowhere-word"]
    before = {q: _found(q) for q in queries}
    assert before["zanzibar"] == before["opening"] == [case.pk]
    assert before["latecomer"] == before["nowhere-word"] == []  # past 4,000 characters: as before

    assert searchindex.index_all() == 2
    assert not CommunicationSearchPending.objects.exists()
    assert _stored_equals_vector(ids)
    assert {q: _found(q) for q in queries} == before


def test_a_communication_logged_otherwise_gets_its_document_in_its_insert(case, analyst):
    comm = Communication.objects.create(
        case=case, direction="outbound", channel="email", sender="research@firm.example",
        recipients=["security@contoso.example", "cc: legal@contoso.example"],
        subject="Quarterly reconciliation", body=LONG_BODY, occurred_at=now(), logged_by=analyst,
    )  # fmt: skip
    assert not CommunicationSearchPending.objects.exists()
    assert _stored_equals_vector([comm.pk])
    assert _found("reconciliation") == _found("legal@contoso.example") == [case.pk]
    assert _found("latecomer") == []


def test_a_vendor_never_finds_an_internal_pending_message(case):
    """A message from an unknown sender is internal: pending or written, a
    vendor's search does not find it; the staff's does."""
    raw = mail(
        subject=f"Re: [{case.reference}] leak", message_id="<x-1@elsewhere.example>",
        sender="stranger@elsewhere.example", body="a quokka was seen\n",
    )  # fmt: skip
    with transaction.atomic():
        (result,) = receive_batch([raw], source="imap:INBOX")
    assert result.message.status == InboundStatus.MATCHED
    assert CommunicationSearchPending.objects.exists()
    assert _found("quokka", staff=True) == [case.pk]
    assert _found("quokka", staff=False) == []
    searchindex.index_all()
    assert _found("quokka", staff=True) == [case.pk]
    assert _found("quokka", staff=False) == []


def test_pending_rows_are_taken_in_batches(case, monkeypatch):
    with transaction.atomic():
        receive_batch([_reply(case, n) for n in range(5)], source="imap:INBOX")
    assert searchindex.index_pending(limit=2) == 2
    assert CommunicationSearchPending.objects.count() == 3
    assert searchindex.index_all() == 3
    assert searchindex.index_pending() == 0


@pytest.mark.django_db(transaction=True)
def test_after_the_commit_a_thread_writes_the_documents(case):
    results = receive_batch([_reply(case, 1), _reply(case, 2)], source="imap:INBOX")
    ids = [r.message.communication_id for r in results]
    assert searchindex.wait(timeout=30)
    assert not CommunicationSearchPending.objects.exists()
    assert _stored_equals_vector(ids)
    assert _found("zanzibar") == [case.pk]


def test_a_fetch_writes_documents_a_stopped_process_left_pending(case, settings, tmp_path):
    """Pending rows whose thread never ran (its process stopped after the
    commit) are written by the next fetch, even one that finds no mail."""
    with transaction.atomic():
        (result,) = receive_batch([_reply(case, 7)], source="imap:INBOX")
    assert CommunicationSearchPending.objects.count() == 1
    settings.DISCLOSURE_MAILDIR = tmp_path / "empty"
    settings.DISCLOSURE_IMAP_URL = ""
    from disclosure.comms.fetch import fetch_mail

    fetch_mail()
    assert not CommunicationSearchPending.objects.exists()
    assert _stored_equals_vector([result.message.communication_id])
    assert _found("zanzibar") == [case.pk]
