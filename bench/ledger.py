"""Benchmark of the case services and the ledger. Prints its figures.

    .venv/bin/python bench/ledger.py                       # SQLite (in memory)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/disclosure \
        .venv/bin/python bench/ledger.py                   # PostgreSQL (test_ database)

It creates a throw-away database (bench_disclosure; in memory on SQLite), so it never
touches real data, and drops it at the end. Figures: cases opened and walked
to ``published`` per second; appends per second at the start and at the end
of a long chain (append cost must not grow with the chain); verification
speed and peak Python memory while verifying (it streams, so memory must stay
flat whatever the chain's length).
"""

import io
import os
import sys
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

N_CASES = int(os.environ.get("BENCH_CASES", 100))
CHAIN = int(os.environ.get("BENCH_CHAIN", 5000))
# The large run of the issue: 100,000 cases and 1,000,000 events.
BULK_CASES = int(os.environ.get("BENCH_BULK_CASES", 10000))


def main() -> None:
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    import tempfile

    settings.STORAGES["evidence"]["OPTIONS"]["location"] = tempfile.mkdtemp(prefix="bench-")
    settings.DISCLOSURE_ANCHOR_DIR = Path(tempfile.mkdtemp(prefix="bench-anchor-"))
    old_name = connection.settings_dict["NAME"]
    # Its own database, so that it can run beside the test suite.
    connection.settings_dict["TEST"]["NAME"] = (
        None if connection.vendor == "sqlite" else "bench_disclosure"
    )
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


def run() -> None:
    from disclosure.cases import services
    from disclosure.core.timeutils import now
    from disclosure.ledger.verify import verify_case
    from tests.factories import MembershipFactory, VendorFactory, capture, make_case

    print(f"database: {connection.vendor}; cases: {N_CASES}; chain: {CHAIN} events")
    analyst = MembershipFactory(role="analyst").user
    lead = MembershipFactory(role="lead").user
    vendor = VendorFactory(name="Bench vendor")

    start = time.perf_counter()
    for i in range(N_CASES):
        make_case(
            "published",
            actor=analyst,
            lead=lead,
            vendor=vendor,
            exposure_evidence=[capture(f"listing {i}".encode())],
        )
    elapsed = time.perf_counter() - start
    from disclosure.ledger.models import CaseEvent

    per_case = CaseEvent.objects.count() / N_CASES
    print(
        f"open + walk to published: {N_CASES / elapsed:8.1f} cases/s "
        f"({elapsed * 1000 / N_CASES:.1f} ms per case, {per_case:.0f} events each)"
    )

    case = make_case(
        "vendor_notified", actor=analyst, vendor=vendor, exposure_evidence=[capture(b"long chain")]
    )
    at = now() - timedelta(minutes=1)

    def append(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            services.log_communication(
                actor=analyst,
                case=case,
                direction="internal",
                channel="other",
                sender="bench",
                recipients=[],
                subject="note",
                body="x" * 200,
                occurred_at=at,
            )
        return n / (time.perf_counter() - t0)

    first = append(200)
    append(max(CHAIN - 400, 0))
    last = append(200)
    print(f"append (first 200 events):   {first:8.1f} events/s")
    print(f"append (last 200 of {CHAIN}): {last:8.1f} events/s")

    tracemalloc.start()
    t0 = time.perf_counter()
    report = verify_case(case)
    elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert report.ok, report
    print(
        f"verify one chain of {report.events} events: {report.events / elapsed:8.1f} "
        f"events/s, peak Python memory {peak / 1024 / 1024:.1f} MiB"
    )

    out = io.StringIO()
    from django.core.management import call_command

    t0 = time.perf_counter()
    call_command("verify_ledger", stdout=out)
    print(f"verify_ledger over {N_CASES + 1} cases: {time.perf_counter() - t0:.2f} s")
    if BULK_CASES:
        bulk(analyst, vendor)


def _rss_mib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bulk(analyst, vendor) -> None:
    """Checkpoint and full verification over BULK_CASES cases of ten events."""
    from django.core.management import call_command

    from bench.bulkgen import EVENTS_PER_CASE, generate
    from disclosure.cases.models import DisclosurePolicy
    from disclosure.ledger.checkpoints import write_checkpoint
    from disclosure.ledger.models import CaseEvent
    from disclosure.ledger.verify import verify_cases

    policy = DisclosurePolicy.objects.first()
    seconds = generate(BULK_CASES, actor=analyst, vendor=vendor, policy=policy)
    total = CaseEvent.objects.count()
    print(
        f"generated {BULK_CASES} cases x {EVENTS_PER_CASE} events in {seconds:.1f} s "
        f"({total} events in the ledger now)"
    )
    rss_before = _rss_mib()
    t0 = time.perf_counter()
    checked = broken = 0
    first_problem = None
    for report in verify_cases():
        checked += 1
        if not report.ok and not broken:
            first_problem = (report.reference, report.problem)
        broken += not report.ok
    elapsed = time.perf_counter() - t0
    assert broken == 0, f"{broken} chains broken, e.g. {first_problem}"
    print(
        f"full verification (chains, rows, records) of {checked} cases / {total} events: "
        f"{elapsed:.1f} s ({total / elapsed:,.0f} events/s); peak RSS {_rss_mib():.0f} MiB "
        f"(before: {rss_before:.0f} MiB)"
    )
    t0 = time.perf_counter()
    result = write_checkpoint()
    assert not result.problems, result.problems[:3]
    print(
        f"first checkpoint ({result.checkpoint.case_count} cases, verifies every chain): "
        f"{time.perf_counter() - t0:.1f} s"
    )
    from disclosure.cases import services
    from disclosure.cases.models import Case
    from disclosure.core.timeutils import now

    for case in Case.objects.order_by("?")[:100]:
        services.log_communication(
            actor=analyst, case=case, direction="internal", channel="other", sender="bench",
            recipients=[], subject="note", body="x", occurred_at=now(),
        )  # fmt: skip
    t0 = time.perf_counter()
    result = write_checkpoint()
    assert not result.problems, result.problems[:3]
    print(
        f"next checkpoint (100 chains changed, {result.checkpoint.case_count} cases): "
        f"{time.perf_counter() - t0:.2f} s"
    )
    t0 = time.perf_counter()
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    print(f"verify_ledger command, checkpoint included: {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
