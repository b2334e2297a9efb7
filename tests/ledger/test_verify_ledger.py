"""verify_ledger finds tampering (SQLite, or PostgreSQL with the trigger off),
and PostgreSQL's trigger refuses UPDATE and DELETE outright."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from disclosure.cases.stages import Stage
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.tasks import verify_all_chains
from tests.factories import make_case
from tests.ledger.tampering import run_verify

pytestmark = pytest.mark.django_db


def tamper(sql: str, params: list) -> None:
    """Run raw SQL against the ledger, with PostgreSQL's guard switched off
    (as a database superuser could: the trigger stops the application, and
    verify_ledger catches what gets past it)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def two_cases(analyst, lead, vendor):
    return (
        make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor),
        make_case(Stage.SECURED, actor=analyst, vendor=vendor),
    )


def test_intact_chains_report_ok_and_exit_zero(two_cases):
    code, output = run_verify()
    assert code == 0
    for case in two_cases:
        assert f"{case.reference}: intact" in output
    assert "all 2 chains intact" in output


def test_altered_payload_is_reported_with_case_and_seq(two_cases):
    case, other = two_cases
    event = case.events.get(seq=3)
    tamper(
        "UPDATE ledger_caseevent SET payload = %s WHERE id = %s",
        ['{"subject": "forged"}', event.pk],
    )
    code, output = run_verify()
    assert code == 1
    assert f"{case.reference}: BROKEN at seq 3" in output
    assert "altered row" in output
    assert f"{other.reference}: intact" in output  # one broken chain does not hide the others


def test_altered_time_is_reported(two_cases):
    case, _ = two_cases
    event = case.events.get(seq=2)
    tamper(
        "UPDATE ledger_caseevent SET occurred_at = %s WHERE id = %s",
        ["2000-01-01 00:00:00+00:00", event.pk],
    )
    code, output = run_verify(case.reference)
    assert code == 1 and "BROKEN at seq 2" in output


def test_deleted_event_is_reported_as_a_gap(two_cases):
    case, _ = two_cases
    tamper("DELETE FROM ledger_caseevent WHERE case_id = %s AND seq = %s", [case.pk, 4])
    code, output = run_verify(case.reference)
    assert code == 1
    assert "BROKEN at seq 5" in output and "expected seq 4" in output


def test_rehashed_event_breaks_the_next_link(two_cases):
    case, _ = two_cases
    event = case.events.get(seq=2)
    tamper("UPDATE ledger_caseevent SET hash = %s WHERE id = %s", ["f" * 64, event.pk])
    code, output = run_verify(case.reference)
    assert code == 1 and "BROKEN at seq 2" in output


def test_unknown_reference_is_an_error(two_cases):
    with pytest.raises(CommandError, match="no such case: DSC-1999-0001"):
        call_command("verify_ledger", "DSC-1999-0001", stdout=StringIO())


def test_nightly_task_reports_broken_chains(two_cases):
    case, _ = two_cases
    assert verify_all_chains() == {"verified": 2, "broken": [], "checkpoint_problems": []}
    tamper(
        "UPDATE ledger_caseevent SET payload = %s WHERE id = %s", ["{}", case.events.get(seq=1).pk]
    )
    result = verify_all_chains()
    assert result["broken"] == [
        {
            "reference": case.reference,
            "seq": 1,
            "problem": "hash does not match the event's content (altered row)",
        }
    ]


@pytest.mark.postgres
def test_postgresql_trigger_refuses_update(two_cases):
    case, _ = two_cases
    event = case.events.get(seq=1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseEvent.objects.filter(pk=event.pk).update(payload={"forged": True})
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE ledger_caseevent SET kind = 'x' WHERE id = %s", [event.pk])
    event.refresh_from_db()
    assert event.payload != {"forged": True}


@pytest.mark.postgres
def test_postgresql_trigger_refuses_delete(two_cases):
    case, _ = two_cases
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM ledger_caseevent WHERE case_id = %s", [case.pk])
    assert case.events.count() > 0
    assert run_verify()[0] == 0
