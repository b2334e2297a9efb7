"""Benchmark of the hourly deadline pass (watchers.deadlines) over 100,000
open cases. Prints its figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/disclosure \\
        .venv/bin/python bench/watchers.py

It creates a throw-away database (BENCH_WATCHERS_DB, default
bench_watchers; in memory on SQLite), never real data, and drops it at the
end (BENCH_WATCHERS_KEEP=1 keeps it). BENCH_WATCHERS_CASES open cases
(default 100,000; ``bench.bulkgen``: notified, acknowledged and secured, one
a minute from 1 January 2025, under "Standard 90", so each has its
publication deadline pending, 90 days after its notice) and one lead who
hears of them (no case has an assignee).

Passes, each timed and its SQL statements counted:

1. first pass at AT (19 May 2025 for 100,000 cases): 70% of the
   publication deadlines have passed (one missed event each), the next
   4,320 (three days of cases) fall within the reminder offsets (one
   reminder each), the rest are not due: many events at once;
2. steady pass at AT again: nothing new (the target: under 10 s, a number
   of queries that does not grow with the cases);
3. the next hour's pass (AT + 1 h): what fell due in that hour (60 cases).

Then verify_ledger-style checks of a sample of chains. At the end, when
bench/probes.py exists and has ``main()``, it runs in the same database
(re-probe throughput against a local endpoint).
"""

import importlib.util
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

N_CASES = int(os.environ.get("BENCH_WATCHERS_CASES", 100_000))
DB_NAME = os.environ.get("BENCH_WATCHERS_DB", "bench_watchers")
KEEP = bool(os.environ.get("BENCH_WATCHERS_KEEP"))
# Case i is notified at 1 January 2025 04:00 + i minutes (bench.bulkgen), so its
# publication is due 90 days later: at AT, 70% of them have passed.
AT = datetime(2025, 1, 1, 4, tzinfo=UTC) + timedelta(days=90, minutes=int(N_CASES * 0.7))
TARGET_SECONDS = 10.0


def main() -> None:
    if not DB_NAME.startswith("bench_"):
        raise SystemExit("BENCH_WATCHERS_DB must start with bench_ (it is dropped)")
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES["evidence"]["OPTIONS"]["location"] = tempfile.mkdtemp(prefix="bench-")
    settings.DISCLOSURE_ANCHOR_DIR = Path(tempfile.mkdtemp(prefix="bench-anchor-"))
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = None if connection.vendor == "sqlite" else DB_NAME
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run()
        probes = Path(__file__).resolve().parent / "probes.py"
        if probes.exists():
            spec = importlib.util.spec_from_file_location("bench_probes", probes)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            if hasattr(module, "main"):
                print()
                module.main()
    finally:
        if not KEEP:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def timed_pass(label: str, at: datetime):
    from disclosure.watchers.deadlines import run_deadline_pass

    with CaptureQueriesContext(connection) as queries:
        t0 = time.perf_counter()
        result = run_deadline_pass(at)
        seconds = time.perf_counter() - t0
    print(
        f"{label:<26} {seconds:7.2f} s  {len(queries):5d} queries  "
        f"evaluated {result.considered:6d}  reminders {result.reminders:6d}  "
        f"missed {result.missed:6d}  unresponsive {result.unresponsive:4d}"
    )
    return result, seconds, len(queries)


def _fill_new_columns() -> None:
    """bench.bulkgen writes the columns it knows; a column added since
    (e.g. the dispute's count columns) gets its model default, as the
    fingerprint takes an unset added column."""
    from bench import bulkgen

    add = bulkgen._Sink.add
    if getattr(add, "_fills_defaults", False):
        return

    def add_with_defaults(self, row: dict) -> None:
        fields = {f.attname: f for f in self.model._meta.concrete_fields}
        for column in self.columns:
            if column not in row:
                row[column] = fields[column].get_default()
        add(self, row)

    add_with_defaults._fills_defaults = True
    bulkgen._Sink.add = add_with_defaults


def run() -> None:
    from django.urls import reverse

    from bench.bulkgen import EVENTS_PER_CASE, generate
    from disclosure.cases.models import Case, DisclosurePolicy
    from disclosure.comms.models import Notice, OutboxMessage
    from disclosure.ledger.verify import verify_case
    from disclosure.watchers.deadlines import CHUNK
    from tests.factories import MembershipFactory, VendorFactory

    analyst = MembershipFactory(role="analyst").user
    MembershipFactory(role="lead", organization=analyst.memberships.get().organization)
    vendor = VendorFactory(name="Bench vendor")
    policy = DisclosurePolicy.objects.get(name="Standard 90")
    _fill_new_columns()
    t0 = time.perf_counter()
    generate(N_CASES, actor=analyst, vendor=vendor, policy=policy)
    print(
        f"database: {connection.vendor}; {N_CASES} open cases generated in "
        f"{time.perf_counter() - t0:.0f} s; pass at {AT:%Y-%m-%d %H:%M} UTC, "
        f"reminders {settings.DISCLOSURE_REMINDER_DAYS} days before, {CHUNK} cases a chunk"
    )
    open_cases = Case.objects.filter(closed_at=None).exclude(vendor_notified_at=None).count()
    overdue = Case.objects.filter(next_due_at__lt=AT).count()
    print(f"open cases: {open_cases}; deadline passed at AT: {overdue}")
    reverse("staff:dashboard")  # load the URL configuration (once per worker process)
    first, _, _ = timed_pass("first pass (many events)", AT)
    _, steady_s, steady_q = timed_pass("steady pass (nothing new)", AT)
    timed_pass("next hour's pass", AT + timedelta(hours=1))
    print(
        f"notices written: {Notice.objects.count()}; mails queued: "
        f"{OutboxMessage.objects.count()} (one per recipient per chunk)"
    )
    ids = list(Case.objects.order_by("pk").values_list("pk", flat=True))
    sample = list(Case.objects.filter(pk__in=ids[:: max(1, len(ids) // 20)]))
    # Only the pass's events are this benchmark's: the generated part may lag
    # behind the record fingerprints (bench.bulkgen), which is not checked here.
    reports = [verify_case(c) for c in sample]
    ours = [
        (r.reference, p.seq, p.text)
        for r in reports
        for p in r.problems
        if p.seq is None or p.seq > EVENTS_PER_CASE
    ]
    older = sum(1 for r in reports for p in r.problems if p.seq and p.seq <= EVENTS_PER_CASE)
    print(
        f"verify_case on {len(sample)} sampled chains: the pass's events "
        f"{ours or 'intact (chain, state, heads)'}"
        f"{f'; {older} problems in the generated events' if older else ''}"
    )
    ok = steady_s < TARGET_SECONDS
    print(
        f"target: the hourly pass over {open_cases} open cases under {TARGET_SECONDS:.0f} s "
        f"with a fixed number of queries: steady {steady_s:.2f} s, {steady_q} queries "
        f"({'met' if ok else 'NOT met'}); first pass {first.missed + first.reminders} events"
    )


if __name__ == "__main__":
    main()
