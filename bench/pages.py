"""Benchmark of the staff pages over a large PostgreSQL database. Prints, per
page, the median and 95th percentile server time and the number of queries.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/disclosure \\
        .venv/bin/python bench/pages.py

It creates a throw-away database (bench_pages; never real data), fills it
with BENCH_PAGES_CASES cases (default 100,000) of ten events each with
``bench.bulkgen`` (COPY), lengthens one case's chain to 5,000 events with
``bench.bulkgen_long``, spreads the list's filter values over the cases
(vendors, severity, TLP, provider, categories, assignees, legal holds: an
UPDATE of the case rows, so this database's ledger no longer replays to its
rows; the pages do not care), ANALYZEs, then requests each page
BENCH_PAGES_REQUESTS times (default 40) through Django's test Client as a
signed-in analyst (the time of ``client.get``: middleware, views, queries,
templates; no network) and drops the database (BENCH_PAGES_KEEP=1 keeps it;
BENCH_PAGES_REUSE=1 measures again on the kept one without filling). Target: median under 150 ms,
95th percentile under 300 ms.
"""

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

N_CASES = int(os.environ.get("BENCH_PAGES_CASES", 100_000))
LONG_CHAIN = int(os.environ.get("BENCH_PAGES_LONG_CHAIN", 5000))
REQUESTS = int(os.environ.get("BENCH_PAGES_REQUESTS", 40))
N_VENDORS = 50
# For tuning: keep the filled database, or measure again on a kept one.
KEEP = bool(os.environ.get("BENCH_PAGES_KEEP"))
REUSE = bool(os.environ.get("BENCH_PAGES_REUSE"))


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/pages.py needs PostgreSQL: set DATABASE_URL")
    setup_test_environment()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DEBUG = False
    old_name = connection.settings_dict["NAME"]
    if REUSE:
        connection.close()
        connection.settings_dict["NAME"] = "bench_pages"
        run()
        return
    connection.settings_dict["TEST"]["NAME"] = "bench_pages"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        run()
    finally:
        if not KEEP:
            connection.creation.destroy_test_db(old_name, verbosity=0)


def fill():
    from bench.bulkgen import generate
    from bench.bulkgen_long import extend
    from disclosure.cases.models import Case, DisclosurePolicy
    from disclosure.ledger.models import CaseEvent
    from tests.factories import FirmFactory, MembershipFactory, VendorFactory

    firm = FirmFactory(name="Bench firm")
    analyst = MembershipFactory(organization=firm, role="analyst").user
    others = [MembershipFactory(organization=firm, role="analyst").user for _ in range(9)]
    vendors = [VendorFactory(name=f"Vendor {i:02d}") for i in range(N_VENDORS)]
    policy = DisclosurePolicy.objects.get(name="Standard 90")
    seconds = generate(N_CASES, actor=analyst, vendor=vendors[0], policy=policy)
    print(f"generated {N_CASES:,} cases / {CaseEvent.objects.count():,} events in {seconds:.0f} s")
    long_case = Case.objects.order_by("-pk").first()
    seconds = extend(long_case, LONG_CHAIN - long_case.ledger_seq, actor=analyst)
    long_case.refresh_from_db()
    print(f"lengthened {long_case.reference} to {long_case.ledger_seq:,} events in {seconds:.1f} s")
    spread(vendors, [analyst, *others])
    with connection.cursor() as cur:
        # What autovacuum would have done by now (statistics, visibility map).
        cur.execute("VACUUM ANALYZE")
    return analyst, long_case


def spread(vendors, users) -> None:
    """Vary the filtered columns over the cases (by id, deterministically)."""
    vendor_ids = "ARRAY[" + ",".join(str(v.pk) for v in vendors) + "]::bigint[]"
    user_ids = "ARRAY[" + ",".join(str(u.pk) for u in users) + "]::bigint[]"
    with connection.cursor() as cur:
        cur.execute(
            f"""
            UPDATE cases_case SET
              vendor_id = ({vendor_ids})[1 + id % {len(vendors)}],
              severity = (ARRAY['low','medium','high','critical'])[1 + id % 4],
              tlp = (ARRAY['clear','green','amber','amber_strict','red'])[1 + id % 5],
              asset_provider = (ARRAY['aws','azure','gcp','alibaba','digitalocean',
                                      'self_hosted','other'])[1 + id % 7],
              data_categories = (ARRAY['["pii"]','["pii","email_content"]',
                                       '["credentials"]','["financial","pii"]',
                                       '["health"]'])[1 + id % 5]::jsonb,
              assignee_id = CASE WHEN id % 10 = 0 THEN ({user_ids})[1 + id % {len(users)}] END,
              legal_hold = (id % 100 = 0),
              summary = 'Customer records of tenant ' || id || ' in an open bucket'
            """
        )


def measure(client, url: str, *, cold: bool = False) -> tuple[float, float, int, int]:
    """``cold``: clear the cache before each request (the dashboard caches
    its stage-time figures for five minutes)."""
    from django.core.cache import cache

    for _ in range(3):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    queries = []
    if cold:
        cache.clear()
    with connection.execute_wrapper(lambda run, sql, *a: queries.append(sql) or run(sql, *a)):
        client.get(url)
    times = []
    for _ in range(REQUESTS):
        if cold:
            cache.clear()
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, len(queries), len(response.content)


def run() -> None:
    from django.test import Client
    from django.urls import NoReverseMatch, reverse

    if REUSE:
        from disclosure.accounts.models import User
        from disclosure.cases.models import Case

        analyst = User.objects.filter(memberships__role="analyst").order_by("pk").first()
        long_case = Case.objects.order_by("-pk").first()
    else:
        analyst, long_case = fill()
    client = Client()
    client.force_login(analyst)
    pages = [
        ("dashboard", "/"),
        ("dashboard, chart figures not cached", "/"),
        ("case list", "/cases/"),
        ("case list, filtered", "/cases/?severity=critical&tlp=red&category=pii&overdue=yes"),
        ("case list, filtered by vendor", "/cases/?vendor=" + _a_vendor_pk()),
        ("case list, disputed, sorted", "/cases/?disputed=yes&sort=-severity"),
        ("case list, searched", "/cases/?q=bucket-4242"),
        ("case list, searched (reference)", "/cases/?q=BEN-2025-004242"),
        ("case list, searched (broad)", "/cases/?q=tenant"),
        ("case list, last page", "/cases/?page=last"),
        ("case list, 100 a page", "/cases/?page_size=100"),
    ]
    try:
        reverse("staff:case_detail", args=[long_case.reference])
        pages.append((f"case page ({long_case.ledger_seq:,} events)", long_case.get_absolute_url()))
    except NoReverseMatch:
        print("(no case page route: skipped)")
    print(f"\n{REQUESTS} requests each, server time in ms (Django test Client):")
    print(f"{'page':40} {'median':>8} {'p95':>8} {'queries':>8} {'KiB':>6}")
    for name, url in pages:
        median, p95, queries, size = measure(client, url, cold="not cached" in name)
        flag = "" if median < 150 and p95 < 300 else "  over target"
        print(f"{name:40} {median:8.1f} {p95:8.1f} {queries:8d} {size / 1024:6.0f}{flag}")


def _a_vendor_pk() -> str:
    from disclosure.accounts.models import Organization

    return str(Organization.objects.filter(name="Vendor 07").values_list("pk", flat=True).get())


if __name__ == "__main__":
    main()
