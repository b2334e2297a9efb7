"""Benchmark of the verified lookup (lookups.lookup) on PostgreSQL: how long
one lookup takes over a large affected list, and whether the refusals take
the same time.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/lookups.py

It creates a throw-away database (BENCH_LOOKUPS_DB, default bench_lookups;
never real data), migrates it, opens BENCH_LOOKUPS_CASES notified cases
(default 20) and writes BENCH_LOOKUPS_ROWS records (default 1,000,000,
straight into the table: the import is bench/affected.py's) spread over
them, at 8,000 registrable domains with five hosts each; one case has its
lookups off. Then it times, as medians of BENCH_LOOKUPS_REPEAT (default 30)
interleaved service calls: a verified domain present in every case, a
verified domain present nowhere, a domain the asker did not verify, and a
verified domain present only in the case whose lookups are off; and prints
PostgreSQL's plan of the matching query. The database is dropped at the end
(BENCH_LOOKUPS_KEEP=1 keeps it).
"""

import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

ROWS = int(os.environ.get("BENCH_LOOKUPS_ROWS", "1000000"))
CASES = int(os.environ.get("BENCH_LOOKUPS_CASES", "20"))
REPEAT = int(os.environ.get("BENCH_LOOKUPS_REPEAT", "30"))
DB = os.environ.get("BENCH_LOOKUPS_DB", "bench_lookups")
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _admin(sql: str) -> None:
    import psycopg

    admin_url = urlunsplit(urlsplit(BASE_URL)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def main() -> None:
    bench_url = urlunsplit(urlsplit(BASE_URL)._replace(path=f"/{DB}"))
    _admin(f"DROP DATABASE IF EXISTS {DB}")
    _admin(f"CREATE DATABASE {DB}")
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from disclosure.affected.models import AffectedImport, AffectedList, AffectedRecord
    from disclosure.cases.stages import Stage
    from disclosure.core.timeutils import now
    from disclosure.lookups import lookup
    from tests.factories import FirmFactory, MembershipFactory, VendorFactory, make_case
    from tests.lookups.conftest import verify

    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "1000000/hour"
    settings.DISCLOSURE_LOOKUP_RATE_ADDRESS = "1000000/hour"
    try:
        call_command("migrate", verbosity=0)
        analyst = MembershipFactory(organization=FirmFactory(), role="analyst").user
        vendor = VendorFactory()
        cases = [make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
                 for _ in range(CASES)]  # fmt: skip
        batches = [
            AffectedImport.objects.create(case=c, created_by=analyst, created_at=now(),
                                          format="csv", filename="bench.csv", status="done")
            for c in cases
        ]  # fmt: skip
        table = AffectedRecord._meta.db_table
        t = time.perf_counter()
        with connection.cursor() as cursor:
            for i, (case, batch) in enumerate(zip(cases, batches, strict=True)):
                cursor.execute(
                    f"INSERT INTO {table} (case_id, batch_id, line, email, email_hash, host, "
                    "is_ip, domain, free_mail, organization, country, found_file, found_path) "
                    "SELECT %s, %s, g, '', md5((g %% 50000)::text), "
                    "'h' || (g %% 5) || '.corp' || (g %% 8000) || '.com', false, "
                    "'corp' || (g %% 8000) || '.com', false, '', '', '', '' "
                    "FROM generate_series(%s, %s) g",
                    [case.pk, batch.pk, i * (ROWS // CASES) + 1, (i + 1) * (ROWS // CASES)],
                )
            cursor.execute(
                f"INSERT INTO {table} (case_id, batch_id, line, email, email_hash, host, is_ip, "
                "domain, free_mail, organization, country, found_file, found_path) "
                "VALUES (%s, %s, 1, '', '', 'only-off.com', false, 'only-off.com', false, "
                "'', '', '', '')",
                [cases[-1].pk, batches[-1].pk],
            )
            cursor.execute(f"ANALYZE {table}")
        print(f"{ROWS:,} records in {CASES} cases written in {time.perf_counter() - t:.1f} s")
        for c in cases:
            AffectedList.objects.get_or_create(case=c)
        AffectedList.objects.filter(case=cases[-1]).update(lookups_enabled=False)
        asker = MembershipFactory(organization=VendorFactory(), role="vendor_contact").user
        for domain in ("corp42.com", "absent.com", "only-off.com"):
            verify(asker, domain)
        asks = {
            "verified, present": "corp42.com",
            "verified, not present": "absent.com",
            "not verified (present)": "corp43.com",
            "verified, lookups off": "only-off.com",
        }
        times: dict[str, list[float]] = {name: [] for name in asks}
        for _ in range(REPEAT):
            for name, domain in asks.items():
                t = time.perf_counter()
                answer = lookup.lookup(user=asker, domain=domain, client_address="192.0.2.1")
                times[name].append(time.perf_counter() - t)
        first = lookup.lookup(user=asker, domain="corp42.com")
        print(f"corp42.com: {len(first.cases)} cases, {sum(c.mentions for c in first.cases)} "
              "mentions")  # fmt: skip
        assert answer is not None
        for name, values in times.items():
            print(f"  {name:24} median {statistics.median(values) * 1000:8.1f} ms  "
                  f"(min {min(values) * 1000:.1f}, max {max(values) * 1000:.1f})")  # fmt: skip
        rows = lookup._matches("corp42.com", "corp42.com")
        plan = (
            AffectedRecord.objects.filter(
                case_id__in=lookup.searchable_cases().values("pk"), domain="corp42.com"
            )
            .explain()
            .splitlines()
        )
        print(f"plan of the records' selection ({len(rows)} cases matched):")
        for line in plan:
            print("  " + line)
    finally:
        connection.close()
        if os.environ.get("BENCH_LOOKUPS_KEEP") != "1":
            _admin(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
