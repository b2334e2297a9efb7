"""Concurrent writers on one case, on PostgreSQL with real connections.

Each thread has its own database connection; a barrier releases them
together so they race for the case's row lock.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import connection

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.core.errors import TransitionNotAllowed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Run the callables at the same moment in threads; return result or exception each."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(i: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait(timeout=10)
            results[i] = work()
        except Exception as exc:  # the test inspects it
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def assert_chain_whole(case: Case) -> None:
    seqs = list(CaseEvent.objects.filter(case=case).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    assert verify_case(case).ok


def test_two_concurrent_transitions_exactly_one_wins(analyst, lead, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    events_before = case.events.count()

    def secure_by(actor):
        return lambda: services.secure(
            actor=actor, case=case, occurred_at=now(), retest_result=f"re-test by {actor.username}"
        )

    results = race([secure_by(analyst), secure_by(lead)])
    wins = [r for r in results if isinstance(r, Case)]
    losses = [r for r in results if isinstance(r, TransitionNotAllowed)]
    assert len(wins) == 1 and len(losses) == 1, results
    case.refresh_from_db()
    assert case.stage == Stage.SECURED
    assert case.events.filter(kind=EventKind.STAGE_CHANGED, payload__to="secured").count() == 1
    assert case.events.count() == events_before + 1
    assert_chain_whole(case)


def test_concurrent_appends_get_consecutive_seqs(analyst, lead, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    events_before = case.events.count()

    def note(i: int):
        return lambda: services.log_communication(
            actor=analyst if i % 2 else lead,
            case=case,
            direction="internal",
            channel="other",
            sender="research",
            recipients=[],
            subject=f"note {i}",
            body="",
            occurred_at=now(),
        )

    results = race([note(i) for i in range(6)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert case.events.count() == events_before + 6
    assert_chain_whole(case)


def test_concurrent_openings_get_distinct_references(analyst, lead, vendor):
    from tests.factories import capture

    def open_one(i: int):
        return lambda: services.open_case(
            actor=analyst,
            vendor=vendor,
            title=f"Case {i}",
            asset_provider="aws",
            asset_kind="s3_bucket",
            asset_identifier=f"s3://bucket-{i}",
            how_found="scan",
            found_at=now(),
            exposure_evidence=[capture(f"listing {i}".encode())],
        )

    results = race([open_one(i) for i in range(4)])
    assert all(isinstance(r, Case) for r in results), results
    references = {r.reference for r in results}
    assert len(references) == 4
    for case in results:
        assert_chain_whole(case)
