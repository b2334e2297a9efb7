"""What ingesting one received message costs in SQL statements, and what a
fetch run remembers between its messages (comms.runscope) without
remembering too much."""

import pytest

from disclosure.cases.stages import Stage
from disclosure.comms import inbound
from disclosure.comms.inbound import ingest
from disclosure.comms.models import Communication, InboundStatus
from disclosure.comms.runscope import fetch_run
from disclosure.core.errors import ValidationFailed
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.comms.test_inbound import mail
from tests.factories import MembershipFactory, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    settings.DISCLOSURE_REFERENCE_PREFIX = "DSC"


@pytest.fixture
def case(analyst, lead, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def _reply(case, n: int) -> bytes:
    return mail(
        subject=f"Re: [{case.reference}] reply {n}", message_id=f"<reply-{n}@contoso.example>"
    )


def test_a_matched_message_in_a_fetch_run_takes_at_most_19_statements(
    case, django_assert_max_num_queries
):
    """In a fetch run, once the mail account, the vendor's addresses, the
    case and its staff recipients were read for an earlier message: the
    duplicate check (1); the case lock and ledger check (2, in a savepoint
    here: 2 more); the raw message's evidence (2) and its event (1); the
    communication's duplicate check, row and event (3); the case row's
    ledger head, once for both events (1); whether the lead's address is
    undeliverable (1), the lead's notice (1) and its immediate mail in the
    outbox (4: a check, a savepoint, the row); the received message's row (1)."""
    inbound.mail_account()  # created before the run, as after a first fetch
    with fetch_run():
        ingest(_reply(case, 1), source="m")
        with django_assert_max_num_queries(19):
            row = ingest(_reply(case, 2), source="m")
    assert row.status == InboundStatus.MATCHED
    assert Communication.objects.filter(case=case, direction="inbound").count() == 2
    assert verify_case(case).ok


def test_without_a_fetch_run_every_message_reads_afresh(case, vendor):
    """Outside a fetch run nothing is remembered: a vendor contact added
    between two messages makes the second sender known."""
    first = ingest(mail(subject=f"[{case.reference}] a", sender="kim@partner.example",
                        message_id="<a@partner.example>"), source="m")  # fmt: skip
    MembershipFactory(organization=vendor, role="vendor_contact", user__email="kim@partner.example")
    second = ingest(mail(subject=f"[{case.reference}] b", sender="kim@partner.example",
                         message_id="<b@partner.example>"), source="m")  # fmt: skip
    assert first.communication.sender_unknown is True
    assert second.communication.sender_unknown is False


def test_a_new_fetch_run_sees_what_changed_during_the_last(case, vendor):
    with fetch_run():
        first = ingest(mail(subject=f"[{case.reference}] a", sender="kim@partner.example",
                            message_id="<a@partner.example>"), source="m")  # fmt: skip
    MembershipFactory(organization=vendor, role="vendor_contact", user__email="kim@partner.example")
    with fetch_run():
        second = ingest(mail(subject=f"[{case.reference}] b", sender="kim@partner.example",
                             message_id="<b@partner.example>"), source="m")  # fmt: skip
    assert first.communication.sender_unknown is True
    assert second.communication.sender_unknown is False


def test_a_mail_account_created_by_a_message_that_rolled_back_is_not_remembered(case, monkeypatch):
    """The first message creates the mail account inside its transaction and
    its case refuses it (rolled back, account and all); the next message of
    the same run creates the account again rather than naming a row that
    does not exist."""
    real = inbound.write_communication
    calls = []

    def refuse_first(**kwargs):
        calls.append(kwargs["actor"].pk)
        if len(calls) == 1:
            raise ValidationFailed("The case refuses it.")
        return real(**kwargs)

    monkeypatch.setattr(inbound, "write_communication", refuse_first)
    with fetch_run():
        refused = ingest(_reply(case, 1), source="m")
        logged = ingest(_reply(case, 2), source="m")
    assert refused.status == InboundStatus.UNMATCHED
    assert "Could not be logged on" in refused.problem
    assert logged.status == InboundStatus.MATCHED
    comm = logged.communication
    assert comm.logged_by.username == "disclosure-mail"
    assert Communication.objects.filter(case=case, direction="inbound").get() == comm
    assert CaseEvent.objects.filter(case=case, kind="communication_logged").count() == 2
    assert verify_case(case).ok


def test_a_chunk_asks_once_what_its_message_ids_were_before(case, django_assert_max_num_queries):
    """``receive_batch``: one query for the Message-IDs of the whole chunk
    (not one a message), however many messages it holds: the chunk's
    savepoint here (2, a transaction of its own in a fetch), that query (1)
    and each message's 18 statements of the test above but the duplicate check."""
    from disclosure.comms.inbound import receive_batch

    inbound.mail_account()
    with fetch_run():
        receive_batch([_reply(case, 1)], source="m")
        with django_assert_max_num_queries(3 + 18 * 3) as captured:
            results = receive_batch([_reply(case, n) for n in (2, 3, 4)], source="m")
    assert [r.message.status for r in results] == ["matched"] * 3
    asked = [q["sql"] for q in captured.captured_queries if "UNION ALL" in q["sql"]]
    assert len(asked) == 1
