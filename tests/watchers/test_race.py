"""Two deadline passes at once on PostgreSQL record each mark once."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction

from disclosure.core.timeutils import now
from disclosure.ledger import bulk
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from disclosure.watchers import deadlines
from disclosure.watchers.models import DeadlineMark
from tests.watchers.helpers import NOTIFIED, marks, notified_case, policy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AT = NOTIFIED + timedelta(days=2, hours=1)  # acknowledgement missed, secure in 3 days


def test_two_racing_passes_write_each_mark_once(analyst, vendor, monkeypatch):
    terms = policy()
    cases = [notified_case(actor=analyst, vendor=vendor, policy=terms) for _ in range(5)]
    # Both passes choose their candidates before either locks a case.
    chosen = threading.Barrier(2, timeout=30)
    lock = bulk.lock_cases

    def lock_after_both_chose(ids, **kwargs):
        chosen.wait()
        return lock(ids, **kwargs)

    monkeypatch.setattr(bulk, "lock_cases", lock_after_both_chose)
    results, errors = [], []

    def run():
        try:
            results.append(deadlines.run_deadline_pass(AT))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert sorted(r.considered for r in results) == [5, 5]  # the second found them done
    assert sum(r.missed for r in results) == 5
    assert sum(r.unresponsive for r in results) == 5
    assert sum(r.reminders for r in results) == 5
    for case in cases:
        assert len(marks(case)) == 3
        assert CaseEvent.objects.filter(case=case, kind="deadline_missed").count() == 1
        assert verify_case(case).ok


def test_the_constraint_refuses_a_second_mark(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    deadlines.run_deadline_pass(AT)
    mark = DeadlineMark.objects.filter(case=case).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        DeadlineMark.objects.create(
            case=case, deadline=mark.deadline, due=mark.due, step=mark.step,
            days_before=mark.days_before, event_seq=999, created_at=now(),
        )  # fmt: skip
