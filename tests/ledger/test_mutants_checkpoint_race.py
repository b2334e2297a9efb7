"""Two checkpoint writers at the same moment, on PostgreSQL with real
connections: the advisory lock makes the second wait for the first and link
to it, instead of both taking the next number (found by the mutation pass:
without the lock the checkpoint tests all passed)."""

import threading

import pytest
from django.db import connection

from disclosure.cases.stages import Stage
from disclosure.ledger.checkpoints import verify_checkpoints, write_checkpoint
from disclosure.ledger.models import Checkpoint
from tests.factories import make_case

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_checkpoint_writers_take_turns(analyst, vendor):
    make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    write_checkpoint()
    barrier = threading.Barrier(3)
    results: list[object] = [None] * 3

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = write_checkpoint(force=True).checkpoint.seq
        except Exception as exc:  # the test inspects it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [2, 3, 4], results
    assert list(Checkpoint.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert verify_checkpoints()[1] == []
