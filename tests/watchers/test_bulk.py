"""ledger.bulk: many cases' events in a fixed number of queries, with every
guarantee of append_event."""

import io

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from disclosure.cases.models import Case
from disclosure.cases.state import case_state, state_digest
from disclosure.ledger import bulk, listeners
from disclosure.ledger.chain import body_of, compute_hash
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.watchers.helpers import notified_case, policy


def _cases(n, analyst, vendor):
    terms = policy()
    return [notified_case(actor=analyst, vendor=vendor, policy=terms) for _ in range(n)]


def _append(cases, per_case=1):
    with transaction.atomic():
        locked = bulk.lock_cases([c.pk for c in cases])
        events = [
            bulk.NewEvent(case=c, kind="deadline_reminder", payload={"n": i}, internal=True)
            for c in locked.cases
            for i in range(per_case)
        ]
        return locked, bulk.append_many(events)


def test_chains_like_append_event(analyst, vendor):
    cases = _cases(3, analyst, vendor)
    heads = {c.pk: (c.ledger_seq, c.ledger_head) for c in cases}
    _locked, events = _append(cases, per_case=2)
    assert len(events) == 6
    for case in cases:
        case.refresh_from_db()
        seq, head = heads[case.pk]
        mine = list(CaseEvent.objects.filter(case=case, seq__gt=seq).order_by("seq"))
        assert [e.seq for e in mine] == [seq + 1, seq + 2]
        assert mine[0].prev_hash == head and mine[1].prev_hash == mine[0].hash
        for event in mine:
            assert event.hash == compute_hash(body_of(event, case.reference))
            assert event.state == state_digest(case_state(case))
            assert event.actor_snapshot["role"] == "system"
        assert (case.ledger_seq, case.ledger_head) == (seq + 2, mine[1].hash)
        assert verify_case(case).ok
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "all 3 chains intact" in out.getvalue()


def test_queries_do_not_grow_with_the_cases(analyst, vendor):
    def count(n):
        cases = _cases(n, analyst, vendor)
        with CaptureQueriesContext(connection) as queries:
            _append(cases)
        return len(queries)

    assert count(2) == count(15)


def test_listeners_hear_every_event(analyst, vendor):
    heard = []

    def listener(events):
        heard.extend(e.pk for e in events)

    cases = _cases(2, analyst, vendor)
    listeners.register(listener)
    try:
        _locked, events = _append(cases, per_case=2)
    finally:
        listeners._listeners.remove(listener)
    assert heard == [e.pk for e in events] and len(heard) == 4


def test_a_row_changed_behind_the_ledger_is_left_out(analyst, vendor):
    good, edited, cut = _cases(3, analyst, vendor)
    Case.objects.filter(pk=edited.pk).update(title="Changed in SQL")
    Case.objects.filter(pk=cut.pk).update(ledger_seq=cut.ledger_seq - 1)
    locked, events = _append([good, edited, cut])
    assert [c.pk for c in locked.cases] == [good.pk]
    assert sorted(c.pk for c in locked.mismatched) == sorted([edited.pk, cut.pk])
    assert [e.case_id for e in events] == [good.pk]


def test_refuses_state_changing_kinds_and_unlocked_cases(analyst, vendor):
    (case,) = _cases(1, analyst, vendor)
    with transaction.atomic():
        (locked,) = bulk.lock_cases([case.pk]).cases
        with pytest.raises(ValueError, match="stage_changed"):
            bulk.append_many([bulk.NewEvent(case=locked, kind="stage_changed", payload={})])
        with pytest.raises(RuntimeError, match="not locked"):
            bulk.append_many([bulk.NewEvent(case=case, kind="deadline_missed", payload={})])
    with transaction.atomic():
        assert bulk.append_many([]) == []


@pytest.mark.django_db(transaction=True)
def test_refuses_to_run_outside_a_transaction(analyst, vendor):
    (case,) = _cases(1, analyst, vendor)
    with pytest.raises(RuntimeError):
        bulk.lock_cases([case.pk])
    with pytest.raises(RuntimeError):
        bulk.append_many([bulk.NewEvent(case=case, kind="deadline_missed", payload={})])


@pytest.mark.postgres
def test_a_large_batch_is_written_by_copy_and_chains_alike(analyst, vendor):
    """From COPY_FROM events on, PostgreSQL gets one binary COPY (no INSERT),
    and the rows are what append_event's would be: the chain verifies."""
    if connection.vendor != "postgresql":
        pytest.skip("the COPY is PostgreSQL's")
    cases = _cases(2, analyst, vendor)
    with CaptureQueriesContext(connection) as queries:
        _locked, events = _append(cases, per_case=30)
    writes = [q["sql"] for q in queries if "ledger_caseevent" in q["sql"]
              and q["sql"].lstrip().startswith(("INSERT", "COPY"))]  # fmt: skip
    assert len(events) == 60 and len(writes) == 1 and writes[0].startswith("COPY")
    for case in cases:
        case.refresh_from_db()
        mine = list(CaseEvent.objects.filter(case=case).order_by("seq"))
        assert mine[-1].hash == case.ledger_head and mine[-1].payload == {"n": 29}
        for event in mine[-30:]:
            assert event.hash == compute_hash(body_of(event, case.reference))
        assert verify_case(case).ok
