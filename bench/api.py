"""Benchmark of the REST API over a large PostgreSQL database: requests per
second and 95th percentile latency of the case list and of one case's
events, each beside a bare DRF view that returns the same rows with one
query (no authentication, permissions, throttling, filtering or
pagination), in the same run, so that the API's overhead is a ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/disclosure \\
        .venv/bin/python bench/api.py

It creates a throw-away database (BENCH_API_DB, default bench_api; never
real data), fills it with BENCH_API_CASES cases (default 100,000) of ten
events each (1,000,000 events) with ``bench.bulkgen`` (COPY), lengthens
one case's chain to 5,000 events (``bench.bulkgen_long``), VACUUM
ANALYZEs, then sends BENCH_API_REQUESTS requests (default 600) to each
endpoint and its bare twin, alternating, in BENCH_API_ROUNDS rounds (default
3) that rotate which endpoint goes first (what ran before weighs on a
measurement: each endpoint is measured early and late), through DRF's
in-process test client (the time of ``client.get``: middleware,
authentication by bearer token, throttles, views, queries, JSON; no
network), and drops the database (BENCH_API_KEEP=1 keeps it;
BENCH_API_REUSE=1 measures again on a kept one). Target: the API at most 1.5
times the bare view's time per request.

Like the WSGI entry point it freezes the start-up heap before measuring
(``core.startup``). The throttles count in the default cache: local memory
unless CACHE_URL is set (``CACHE_URL=redis://127.0.0.1:6379/2`` measures
with production's shared cache; a process asks it for a lease about once in
16 requests).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly
# The benchmark sends thousands of requests with one token from one address.
os.environ.setdefault("API_THROTTLE_TOKEN", "100000000/min")
os.environ.setdefault("API_THROTTLE_IP", "100000000/min")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.urls import include, path  # noqa: E402
from rest_framework.permissions import AllowAny  # noqa: E402
from rest_framework.response import Response  # noqa: E402
from rest_framework.views import APIView  # noqa: E402

N_CASES = int(os.environ.get("BENCH_API_CASES", 100_000))
REQUESTS = int(os.environ.get("BENCH_API_REQUESTS", 600))
ROUNDS = max(1, int(os.environ.get("BENCH_API_ROUNDS", 3)))
DB_NAME = os.environ.get("BENCH_API_DB", "bench_api")
KEEP = bool(os.environ.get("BENCH_API_KEEP"))
REUSE = bool(os.environ.get("BENCH_API_REUSE"))
PAGE = 25
LONG_CHAIN = 5000  # one case's events, read 100 a page

CASE_VALUES = (
    "reference", "title", "summary", "vendor_id", "vendor__name", "asset_provider",
    "asset_kind", "asset_identifier", "asset_region", "data_categories", "volume_bytes",
    "volume_objects", "records_by_kind", "data_from", "data_to", "affected_entity_count",
    "affected_country_count", "tlp", "policy_id", "policy__name", "stage", "found_at",
    "vendor_notified_at", "vendor_acknowledged_at", "secured_at", "data_deleted_at",
    "published_at", "closed_at", "publication_url", "publication_title", "close_reason",
    "follows_up__reference", "how_found", "severity", "time_zone", "assignee_id",
    "assignee__username", "legal_hold", "ledger_seq", "ledger_head", "created_at",
    "updated_at",
)  # fmt: skip
EVENT_VALUES = ("seq", "kind", "occurred_at", "recorded_at", "actor_snapshot", "payload",
                "internal", "prev_hash", "hash")  # fmt: skip


class _Bare(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []


class BareCaseList(_Bare):
    """The case list's first page, newest found first: one query."""

    def get(self, request):
        from disclosure.cases.models import Case

        size = int(request.query_params.get("page_size", PAGE))
        rows = Case.objects.order_by("-found_at", "-id").values(*CASE_VALUES)[:size]
        return Response({"results": list(rows)})


class BareEventList(_Bare):
    """One case's events in seq order: one query (the case by reference joined)."""

    def get(self, request, reference):
        from disclosure.ledger.models import CaseEvent

        size = int(request.query_params.get("page_size", PAGE))
        rows = (
            CaseEvent.objects.filter(case__reference=reference)
            .order_by("seq")
            .values(*EVENT_VALUES)[:size]
        )
        return Response({"results": list(rows)})


urlpatterns = [
    path("bare/cases/", BareCaseList.as_view()),
    path("bare/cases/<str:reference>/events/", BareEventList.as_view()),
    path("", include("disclosure.urls")),
]


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/api.py needs PostgreSQL: set DATABASE_URL")
    from django.test.utils import setup_test_environment

    setup_test_environment()
    settings.DEBUG = False
    settings.ROOT_URLCONF = "bench.api"
    old_name = connection.settings_dict["NAME"]
    if REUSE:
        connection.close()
        connection.settings_dict["NAME"] = DB_NAME
        run()
        return
    connection.settings_dict["TEST"]["NAME"] = DB_NAME
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

    analyst = MembershipFactory(organization=FirmFactory(name="Bench firm"), role="analyst").user
    vendor = VendorFactory(name="Bench vendor")
    policy = DisclosurePolicy.objects.get(name="Standard 90")
    seconds = generate(N_CASES, actor=analyst, vendor=vendor, policy=policy)
    print(f"generated {N_CASES:,} cases / {CaseEvent.objects.count():,} events in {seconds:.0f} s")
    long_case = Case.objects.order_by("-pk").first()
    extend(long_case, LONG_CHAIN - long_case.ledger_seq, actor=analyst)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    return analyst


def _queries_and_rows(client, url: str) -> tuple[int, int]:
    for _ in range(10):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
    queries: list[str] = []
    with connection.execute_wrapper(lambda run, sql, *a: queries.append(sql) or run(sql, *a)):
        response = client.get(url)
    return len(queries), len(response.json()["results"])


def _stats(times: list[float]) -> tuple[float, float]:
    """(requests per second, p95 in ms)."""
    times = sorted(times)
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))] * 1000
    return len(times) / sum(times), p95


def measure(api, url: str, bare, bare_url: str, n: int) -> tuple[list[float], list[float]]:
    """``n`` GETs of each URL, alternating (so that the load of a shared
    machine weighs on both alike): the seconds of each, ours and bare."""
    ours, theirs = [], []
    for _ in range(n):
        t0 = time.perf_counter()
        api.get(url)
        t1 = time.perf_counter()
        bare.get(bare_url)
        theirs.append(time.perf_counter() - t1)
        ours.append(t1 - t0)
    return ours, theirs


def run() -> None:
    from rest_framework.test import APIClient

    from disclosure.accounts.models import User
    from disclosure.cases.models import Case
    from disclosure.tokens.services import create_token

    if REUSE:
        analyst = User.objects.filter(memberships__role="analyst").order_by("pk").first()
    else:
        analyst = fill()
    token = create_token(user=analyst, name=f"bench {time.time()}", scope="read").secret
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    bare = APIClient()
    reference = Case.objects.order_by("-found_at", "-id").values_list("reference", flat=True)[
        Case.objects.count() // 2
    ]
    long_ref = Case.objects.order_by("-ledger_seq").values_list("reference", flat=True)[0]
    pairs = [
        ("case list", "/api/v1/cases/", "/bare/cases/"),
        (
            f"events of {reference}",
            f"/api/v1/cases/{reference}/events/",
            f"/bare/cases/{reference}/events/",
        ),
        (
            f"{long_ref}, 100 of {LONG_CHAIN:,} events",
            f"/api/v1/cases/{long_ref}/events/?page_size=100",
            f"/bare/cases/{long_ref}/events/?page_size=100",
        ),
        (
            "case list, 100 a page",
            "/api/v1/cases/?page_size=100",
            "/bare/cases/?page_size=100",
        ),
    ]
    from disclosure.core.startup import freeze_startup_heap

    freeze_startup_heap()  # as the WSGI entry point does before serving
    per_round = max(1, REQUESTS // ROUNDS)
    print(f"\n{per_round * ROUNDS} requests each in {ROUNDS} rounds (DRF test client, in "
          f"process), {Case.objects.count():,} cases:")  # fmt: skip
    info = {name: (_queries_and_rows(api, url), _queries_and_rows(bare, bare_url))
            for name, url, bare_url in pairs}  # fmt: skip
    times = {name: ([], [], []) for name, _, _ in pairs}  # ours, bare, ratio per round
    for r in range(ROUNDS):
        for name, url, bare_url in pairs[r % len(pairs) :] + pairs[: r % len(pairs)]:
            ours, theirs = measure(api, url, bare, bare_url, per_round)
            times[name][0].extend(ours)
            times[name][1].extend(theirs)
            times[name][2].append(sum(ours) / sum(theirs))
    print(f"{'endpoint':40} {'req/s':>8} {'p95 ms':>8} {'queries':>8} {'rows':>5} {'ratio':>6}"
          "  rounds")  # fmt: skip
    for name, _, _ in pairs:
        ours, theirs, ratios = times[name]
        (api_q, api_rows), (bare_q, bare_rows) = info[name]
        ratio = sum(ours) / sum(theirs)  # time per request, ours over bare
        flag = "" if ratio <= 1.5 else "  over target (1.5)"
        rps, p95 = _stats(ours)
        spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
        print(f"{name + ' (API)':40} {rps:8.0f} {p95:8.2f} {api_q:8d} {api_rows:5d} "
              f"{ratio:6.2f}  {spread}{flag}")  # fmt: skip
        rps, p95 = _stats(theirs)
        print(f"{name + ' (bare view)':40} {rps:8.0f} {p95:8.2f} {bare_q:8d} {bare_rows:5d}")


if __name__ == "__main__":
    main()
