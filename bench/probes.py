"""Benchmark of the re-probes: throughput (probes per second) against a
local HTTP endpoint.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/probes.py

Run alone, it creates a throw-away database (BENCH_PROBES_DB, default
bench_probes; it must start with ``bench_``; never real data; SQLite in a
temporary folder when DATABASE_URL is unset), migrates it and opens
BENCH_PROBES_CASES cases (default 200) whose asset is the endpoint. Called
from another script that has set Django up already (bench/watchers.py calls
``main()``), it opens its cases in that script's database and probes only
those.

The endpoint is a separate process on 127.0.0.1 (so that it does not share
this process's interpreter lock) answering every request with a 2 KB XML
container listing, as a public Azure Blob container would. Private
addresses are allowed for the run (DISCLOSURE_FETCH_ALLOW_PRIVATE).

Printed, each as probes per second:

1. the guarded client alone: ``core.guarded_http.guarded_request`` of the
   endpoint, one at a time and DISCLOSURE_PROBE_CONCURRENCY at a time;
2. the re-probe run: ``probes.runs.run_due_probes`` over every case (claim,
   fetch in threads, and per case one transaction: the capture stored as
   evidence, its ledger event, the result row, the first status change).

``main()`` returns the figures as a dict. BENCH_PROBES_PROFILE=1 profiles
the run (cProfile, top functions by cumulative time); BENCH_PROBES_KEEP=1
keeps the database.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

from bench.local import own_database, start_local_server

CASES = int(os.environ.get("BENCH_PROBES_CASES", "200"))
CLIENT_REQUESTS = int(os.environ.get("BENCH_PROBES_REQUESTS", "500"))
DB = os.environ.get("BENCH_PROBES_DB", "bench_probes")

BODY = (
    b'<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs>'
    + b"".join(b"<Blob><Name>export/customers-%04d.csv</Name></Blob>" % i for i in range(40))
    + b"</Blobs></EnumerationResults>"
)


def _rate(count: int, seconds: float) -> str:
    return f"{count:6d} in {seconds:6.2f} s = {count / seconds:8.1f} probes/s"


def main() -> dict:
    import django
    from django.apps import apps

    cleanup = lambda: None  # noqa: E731
    where = "the caller's database"
    if not apps.ready:
        where, cleanup = own_database(DB, setting="BENCH_PROBES")
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
    from django.conf import settings
    from django.test.utils import override_settings

    from disclosure.accounts.models import Role
    from disclosure.cases.stages import Stage
    from disclosure.core.guarded_http import guarded_request
    from disclosure.probes.models import ProbeResult
    from disclosure.probes.runs import run_due_probes
    from tests.factories import FirmFactory, MembershipFactory, VendorFactory, make_case

    proc, port = start_local_server(BODY, "application/xml")
    url = f"http://127.0.0.1:{port}/container"
    figures: dict = {}
    try:
        with override_settings(DISCLOSURE_FETCH_ALLOW_PRIVATE=True):
            print(f"re-probe benchmark: {where}, endpoint {url}")
            guarded_request("GET", url)  # warm up
            t = time.perf_counter()
            for _ in range(CLIENT_REQUESTS):
                assert guarded_request("GET", url).status == 200
            seconds = time.perf_counter() - t
            figures["client_sequential"] = CLIENT_REQUESTS / seconds
            print(f"guarded client, one at a time:   {_rate(CLIENT_REQUESTS, seconds)}")
            workers = int(settings.DISCLOSURE_PROBE_CONCURRENCY)
            t = time.perf_counter()
            with ThreadPoolExecutor(workers) as pool:
                statuses = list(
                    pool.map(lambda _: guarded_request("GET", url).status, range(CLIENT_REQUESTS))
                )
            seconds = time.perf_counter() - t
            assert statuses == [200] * CLIENT_REQUESTS
            figures["client_concurrent"] = CLIENT_REQUESTS / seconds
            print(f"guarded client, {workers} at a time:     {_rate(CLIENT_REQUESTS, seconds)}")

            t = time.perf_counter()
            analyst = MembershipFactory(organization=FirmFactory(), role=Role.ANALYST).user
            vendor = VendorFactory(name="Bench probes vendor")
            cases = [
                make_case(
                    Stage.VENDOR_NOTIFIED,
                    actor=analyst,
                    vendor=vendor,
                    asset_provider="azure",
                    asset_kind="blob_container",
                    asset_identifier=f"{url}{n}",
                )
                for n in range(CASES)
            ]
            print(f"{CASES} cases opened in {time.perf_counter() - t:.1f} s")
            profiler = None
            if os.environ.get("BENCH_PROBES_PROFILE"):
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            t = time.perf_counter()
            report = run_due_probes(case_ids=[c.pk for c in cases])
            seconds = time.perf_counter() - t
            if profiler is not None:
                import pstats

                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            probed = ProbeResult.objects.filter(case__in=cases).count()
            assert report.public >= CASES and probed == CASES, (report, probed)
            figures["run_due_probes"] = report.probed / seconds
            print(f"run_due_probes (recorded, {workers} fetching): {_rate(report.probed, seconds)}")
    finally:
        proc.terminate()
        proc.wait(5)
        cleanup()
    return figures


if __name__ == "__main__":
    main()
