"""Benchmark of the affected-records import: 1,000,000 rows into PostgreSQL
through ``affected.importing`` (check, COPY, hosts normalised, count, ledger
event), beside a raw COPY of the same file into a bare table of text
columns, in the same run; then every level's count over that case.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/affected.py

It creates a throw-away database (BENCH_AFFECTED_DB, default
bench_affected; never real data), migrates it, opens one case, writes a CSV
of BENCH_AFFECTED_ROWS rows (default 1,000,000: e-mail addresses at 20,000
hosts under 8,000 registrable domains, a tenth at free-mail providers, with
duplicates, country codes, and where each was found), then times:

- raw COPY: ``COPY raw (email, domain, organization, country, found_file,
  found_path) FROM STDIN (FORMAT csv, HEADER)`` of the file's bytes;
- the import: ``importing.run_import`` of the same file (its own
  transaction: lock, the file COPYed as written while a thread checks
  it, hosts normalised once each, counts, ledger event; see
  ``affected.directload``), with the time of each step;
- the counts: ``counting.compute_counts`` (every level: the e-mails from
  the records, the rest from the case's hosts and countries).

BENCH_AFFECTED_MESSY=1 adds one line with a quoted field at the end, so that
the direct load leaves the file to the next reader (``affected.fastload``):
the time of a file that is not clean.

Then, as the floor any import of this shape meets: the rows the import
wrote (the batch's records and the case's hosts and countries), exported
with ``COPY ... TO`` and COPYed back, timed, into empty tables made ``LIKE``
each (indexes and defaults included, logged like the originals): the cost
of writing the result alone, with nothing read, split or checked.
BENCH_AFFECTED_FLOOR=0 skips it.

BENCH_AFFECTED_RECOUNT=1 also times the counts from the records themselves
(each record's host normalised through its spelling) and checks that they
agree.

Each timed write starts right after a CHECKPOINT: the server starts one of
its own after about half of max_wal_size of WAL (the raw COPY and the import
write some 400 MB between them), and one that fell inside a single timed
step made that step up to half again slower, whichever step it was.

Targets: the import at most 3 times the raw COPY's time; every level's count
in under 2 s. The database is dropped at the end (BENCH_AFFECTED_KEEP=1
keeps it).
"""

import io
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

ROWS = int(os.environ.get("BENCH_AFFECTED_ROWS", "1000000"))
DB = os.environ.get("BENCH_AFFECTED_DB", "bench_affected")
BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def _admin(sql: str) -> None:
    """Run ``sql`` on the server's maintenance database (the database named
    in DATABASE_URL need not exist: only its server is used)."""
    import psycopg

    admin_url = urlunsplit(urlsplit(BASE_URL)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql)


def make_file(rows: int) -> bytes:
    """The CSV: reproducible (seeded), with duplicates, branches, free-mail."""
    rnd = random.Random(19)
    free = ["gmail.com", "outlook.com", "yahoo.com", "gmx.de", "web.de", "qq.com"]
    countries = ["US", "DE", "GB", "FR", "IN", "BR", "JP", "NL", "ES", "IT"]
    out = io.StringIO()
    out.write("email,domain,organization,country,found_file,found_path\n")
    for i in range(rows):
        if rnd.random() < 0.1:
            host = rnd.choice(free)
            org = ""
        else:
            d = rnd.randrange(8000)
            host = f"{'mail.' if d % 3 else ''}corp{d}.{'co.uk' if d % 5 == 0 else 'com'}"
            if d % 7 == 0:
                host = f"branch{rnd.randrange(3)}.{host}"
            org = f"Corp {d} Ltd"
        user = rnd.randrange(max(1, rows // 2))  # about half the lines repeat an address
        out.write(
            f"user{user}@{host},,{org},{countries[i % 10]},project{i % 300}/export.csv,/rows/{i}\n"
        )
    return out.getvalue().encode("utf-8")


def write_floor(connection, case_id: int, batch_id: int) -> dict[str, float]:
    """Seconds to COPY the import's own output back into empty copies of
    its tables (see the module): per table, the rows exported first, then
    only the COPY in is timed."""
    from disclosure.affected.models import AffectedCountry, AffectedHost, AffectedRecord

    wanted = [
        (AffectedRecord, f"batch_id = {int(batch_id)}"),
        (AffectedHost, f"case_id = {int(case_id)}"),
        (AffectedCountry, f"case_id = {int(case_id)}"),
    ]
    seconds: dict[str, float] = {}
    with connection.cursor() as cursor:
        for model, where in wanted:
            table = model._meta.db_table
            columns = ", ".join(f.column for f in model._meta.concrete_fields if not f.primary_key)
            out = bytearray()
            with cursor.cursor.copy(
                f"COPY (SELECT {columns} FROM {table} WHERE {where}) TO STDOUT"
            ) as copy:
                for chunk in copy:
                    out += chunk
            cursor.execute(f"CREATE TABLE floor_{table} (LIKE {table} INCLUDING ALL)")
            connection.commit() if not connection.get_autocommit() else None
            cursor.execute("CHECKPOINT")
            t = time.perf_counter()
            with cursor.cursor.copy(f"COPY floor_{table} ({columns}) FROM STDIN") as copy:
                view = memoryview(out)
                for start in range(0, len(out), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
            seconds[table] = time.perf_counter() - t
            cursor.execute(f"DROP TABLE floor_{table}")
    return seconds


def main() -> None:
    parts = urlsplit(BASE_URL)
    bench_url = urlunsplit(parts._replace(path=f"/{DB}"))
    _admin(f"DROP DATABASE IF EXISTS {DB}")
    _admin(f"CREATE DATABASE {DB}")
    os.environ["DATABASE_URL"] = bench_url
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from disclosure.affected import counting, directload, fastload, importing
    from disclosure.cases.stages import Stage
    from tests.factories import FirmFactory, MembershipFactory, VendorFactory, make_case

    try:
        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"migrated in {time.perf_counter() - t:.1f} s")
        from disclosure.accounts.models import Role

        analyst = MembershipFactory(organization=FirmFactory(), role=Role.ANALYST).user
        case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=VendorFactory())
        data = make_file(ROWS)
        rows = ROWS
        if os.environ.get("BENCH_AFFECTED_MESSY") == "1":
            data += b'"messy@corp1.com",,Corp 1 Ltd,US,project1/export.csv,/rows/x\n'
            rows += 1
        print(f"file: {ROWS:,} rows, {len(data) / 1e6:.1f} MB")

        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE raw (email text, domain text, organization text, country text, "
                "found_file text, found_path text)"
            )
            connection.commit() if not connection.get_autocommit() else None
            cursor.execute("CHECKPOINT")  # see the module
            t = time.perf_counter()
            copy_sql = (
                "COPY raw (email, domain, organization, country, found_file, found_path) "
                "FROM STDIN (FORMAT csv, HEADER)"
            )
            with cursor.cursor.copy(copy_sql) as copy:
                view = memoryview(data)
                for start in range(0, len(data), 1 << 20):
                    copy.write(view[start : start + (1 << 20)])
            raw = time.perf_counter() - t
            cursor.execute("SELECT count(*) FROM raw")
            assert cursor.fetchone()[0] == rows

        batch = importing.start_import(
            actor=analyst, case=case, file=io.BytesIO(data), filename="bench.csv", format="csv"
        )
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
        t = time.perf_counter()
        batch = importing.run_import(batch_id=batch.pk)
        imported = time.perf_counter() - t
        assert batch.status == "done", (batch.message, batch.errors[:3])
        assert batch.rows == rows

        print(f"raw COPY:  {raw:7.2f} s  {ROWS / raw:12,.0f} rows/s")
        print(
            f"import:    {imported:7.2f} s  {ROWS / imported:12,.0f} rows/s  "
            f"({imported / raw:.2f} x raw COPY; target <= 3)"
        )
        for step, seconds in {**directload.timings, **fastload.timings}.items():
            print(f"    {step:18} {seconds:7.2f} s")
        if os.environ.get("BENCH_AFFECTED_FLOOR", "1") == "1":
            floor = write_floor(connection, case.pk, batch.pk)
            total = sum(floor.values())
            print(
                f"writing the import's rows alone: {total:7.2f} s  ({total / raw:.2f} x raw COPY)"
            )
            for table, seconds in floor.items():
                print(f"    {table:28} {seconds:7.2f} s")
        t = time.perf_counter()
        counts = counting.compute_counts(case.pk)
        counted = time.perf_counter() - t
        print(f"counts (every level, one pass): {counted:.2f} s (target < 2 s)")
        for level, value in counts.items():
            print(f"  {level:18} {value:>10,}")
        if os.environ.get("BENCH_AFFECTED_RECOUNT") == "1":  # the former method, slow
            t = time.perf_counter()
            again = counting.recount_from_records(case.pk)
            print(f"counts from the records themselves: {time.perf_counter() - t:.2f} s, "
                  f"{'equal' if again == counts else 'DIFFERENT: ' + repr(again)}")  # fmt: skip
        print("load average: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        connection.close()
        if os.environ.get("BENCH_AFFECTED_KEEP") != "1":
            _admin(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
