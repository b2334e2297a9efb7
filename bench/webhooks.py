"""Benchmark of webhooks: what the fan-out adds to a case change, and how
fast the outbox delivers to a local receiver.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/webhooks.py

It creates a throw-away database (BENCH_WEBHOOKS_DB, default bench_webhooks;
it must start with ``bench_``; never real data; SQLite in a temporary folder
when DATABASE_URL is unset), migrates it and opens one notified case. The
receiver is a separate process on 127.0.0.1 answering 200 to every POST
(private addresses are allowed for the run).

Printed:

1. the same change (``update_details``, one event per transaction) made
   BENCH_WEBHOOKS_CHANGES times (default 300) with no subscription, then
   with 10 (5 internal, 5 vendor's view, every kind): milliseconds per
   change, SQL statements per change, and of those the ones on the webhook
   tables (the subscription set is read from the cache: 0 reads);
2. ``webhooks.delivery.dispatch_due`` over the deliveries the second pass
   queued (one worker, one after another): deliveries per second.

BENCH_WEBHOOKS_KEEP=1 keeps the database.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")

from bench.local import own_database, start_local_server

CHANGES = int(os.environ.get("BENCH_WEBHOOKS_CHANGES", "300"))
DB = os.environ.get("BENCH_WEBHOOKS_DB", "bench_webhooks")


def main() -> dict:
    import django

    where, cleanup = own_database(DB, setting="BENCH_WEBHOOKS")
    os.environ.pop("CELERY_BROKER_URL", None)  # eager: no worker is asked
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings

    from disclosure.accounts.models import Role
    from disclosure.cases import services as case_services
    from disclosure.cases.stages import Stage
    from disclosure.webhooks import delivery, services
    from disclosure.webhooks.models import WebhookDelivery
    from tests.factories import FirmFactory, MembershipFactory, VendorFactory, make_case

    proc, port = start_local_server()
    url = f"http://127.0.0.1:{port}/hook"
    figures: dict = {}
    try:
        with override_settings(DISCLOSURE_FETCH_ALLOW_PRIVATE=True):
            print(f"webhooks benchmark: {where}, receiver {url}")
            firm = FirmFactory()
            analyst = MembershipFactory(organization=firm, role=Role.ANALYST).user
            admin = MembershipFactory(organization=firm, role=Role.ADMIN).user
            case = make_case(
                Stage.VENDOR_NOTIFIED, actor=analyst, vendor=VendorFactory(name="Bench vendor")
            )

            def changes(label: str) -> None:
                nonlocal case
                with CaptureQueriesContext(connection) as queries:
                    t = time.perf_counter()
                    for n in range(CHANGES):
                        case = case_services.update_details(
                            actor=analyst, case=case, changes={"title": f"{label} {n}"}
                        )
                    seconds = time.perf_counter() - t
                statements = len(queries.captured_queries) / CHANGES
                ours = sum("webhooks_" in q["sql"] for q in queries.captured_queries) / CHANGES
                figures[label] = {"ms": seconds * 1000 / CHANGES, "sql": statements, "ours": ours}
                print(
                    f"{label:32s} {seconds * 1000 / CHANGES:6.2f} ms/change, "
                    f"{statements:5.1f} SQL/change, of which webhooks {ours:4.1f}"
                )

            changes("no subscription")
            for n in range(10):
                services.create_subscription(
                    actor=admin, name=f"Hook {n}", url=url, secret="s" * 32, internal=n < 5
                )
            delivery_task = delivery.request_delivery
            delivery.request_delivery = lambda pks: None  # queued, not sent: timed below
            try:
                changes("10 subscriptions (5 internal)")
            finally:
                delivery.request_delivery = delivery_task
            queued = WebhookDelivery.objects.filter(status="queued").count()
            t = time.perf_counter()
            counts = {"sent": 0}
            while True:
                batch = delivery.dispatch_due(limit=500)
                counts["sent"] += batch["sent"]
                if not any(batch.values()):
                    break
            seconds = time.perf_counter() - t
            assert counts["sent"] == queued, (counts, queued)
            figures["deliveries_per_second"] = queued / seconds
            print(
                f"dispatch_due, one worker:        {queued} deliveries in {seconds:.2f} s = "
                f"{queued / seconds:.1f}/s"
            )
    finally:
        proc.terminate()
        proc.wait(5)
        cleanup()
    return figures


if __name__ == "__main__":
    main()
