"""Fan-out from the ledger: who gets which event in which form, filters,
and what it costs in queries."""

import json

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from disclosure.cases import services as case_services
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.webhooks import fanout
from disclosure.webhooks.models import WebhookDelivery
from tests.factories import make_case, notify_kwargs

pytestmark = pytest.mark.django_db


def notified_case(analyst, vendor):
    """A case taken to vendor_notified with an internal note: events 1
    case_opened, 2 internal_details (internal), 3 evidence_attached,
    4 communication_logged, 5 stage_changed, 6 note_added (internal)."""
    case = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    return case_services.notify_vendor(
        actor=analyst, case=case, **notify_kwargs(now(), note="Call them too", note_shared=False)
    )


def sent_to(subscription) -> list[tuple[int, str]]:
    rows = WebhookDelivery.objects.filter(subscription=subscription).order_by("id")
    return [(json.loads(bytes(r.body))["event"]["seq"], r.event_kind) for r in rows]


def body(subscription, kind: str) -> dict:
    row = WebhookDelivery.objects.get(subscription=subscription, event_kind=kind)
    return json.loads(bytes(row.body))


def test_internal_events_go_only_to_internal_subscriptions(subscribe, analyst, vendor):
    internal = subscribe(name="SOC", internal=True)
    shared = subscribe(name="Chat")
    notified_case(analyst, vendor)

    assert sent_to(internal) == [
        (1, "case_opened"), (2, "internal_details"), (3, "evidence_attached"),
        (4, "communication_logged"), (5, "stage_changed"), (6, "note_added"),
    ]  # fmt: skip
    # Only once the vendor is notified, and only what the vendor is shown.
    assert sent_to(shared) == [(5, "stage_changed")]


def test_a_shared_subscription_gets_the_vendors_view_of_the_event(subscribe, analyst, vendor, firm):
    internal = subscribe(name="SOC", internal=True)
    shared = subscribe(name="Chat")
    case = notified_case(analyst, vendor)
    event = CaseEvent.objects.get(case=case, seq=5)

    full, seen = body(internal, "stage_changed"), body(shared, "stage_changed")
    assert (full["view"], seen["view"]) == ("internal", "vendor")
    assert full["event"]["actor"]["username"] == analyst.username
    assert seen["event"]["actor"] == {
        "id": None, "username": "", "name": firm.name, "organization": firm.name, "role": None,
    }  # fmt: skip
    assert seen["event"]["id"] == full["event"]["id"] == event.hash
    assert seen["event"]["hash"] == event.hash
    assert seen["event"]["internal"] is False
    assert seen["event"]["payload"]["to"] == "vendor_notified"
    assert set(seen["event"]["payload"]) <= set(full["event"]["payload"])
    assert seen["case"] == full["case"] == {"reference": case.reference, "vendor_id": vendor.pk}
    assert "state" not in seen["event"] and "state" not in full["event"]


def test_kinds_vendors_and_cases_narrow_a_subscription(
    subscribe, analyst, lead, vendor, other_vendor
):
    by_kind = subscribe(name="Stages", internal=True, event_kinds=["stage_changed"])
    by_vendor = subscribe(name="Other vendor", internal=True, vendors=[other_vendor])
    first = notified_case(analyst, vendor)
    second = make_case(Stage.FOUND, actor=analyst, vendor=other_vendor)
    by_case = subscribe(name="One case", internal=True, cases=[first])
    case_services.set_legal_hold(actor=lead, case=second, on=True, reason="Litigation")
    case_services.set_legal_hold(actor=lead, case=first, on=True, reason="Litigation")

    assert sent_to(by_kind) == [(5, "stage_changed")]
    assert sent_to(by_vendor) == [
        (1, "case_opened"), (2, "internal_details"), (3, "evidence_attached"),
        (4, "legal_hold_changed"),
    ]  # fmt: skip
    assert WebhookDelivery.objects.filter(subscription=by_vendor, case=first).count() == 0
    assert sent_to(by_case) == [(7, "legal_hold_changed")]


def test_a_disabled_subscription_gets_nothing(subscribe, admin_user, analyst, vendor):
    from disclosure.webhooks import services

    sub = subscribe(internal=True)
    services.set_subscription_active(actor=admin_user, subscription=sub, active=False)
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    assert WebhookDelivery.objects.count() == 0


# --- what it costs -----------------------------------------------------------


# These run in real transactions (each service commits), as in production.


def _subscription_reads(queries) -> int:
    """The fan-out's reads of the subscription set (the one query that joins
    their vendors), not a delivery's read of its own subscription."""
    return sum('"webhooks_webhooksubscription_vendors"' in q["sql"] for q in queries)


@pytest.mark.django_db(transaction=True)
def test_no_subscription_costs_one_read_then_none(analyst, vendor):
    with CaptureQueriesContext(connection) as cold:
        make_case(Stage.FOUND, actor=analyst, vendor=vendor)  # three transactions at least
    assert _subscription_reads(cold.captured_queries) == 1

    with CaptureQueriesContext(connection) as warm:
        make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    assert _subscription_reads(warm.captured_queries) == 0

    events = list(CaseEvent.objects.select_related("case")[:3])
    with transaction.atomic(), CaptureQueriesContext(connection) as listener:
        fanout.on_events_appended(events)
    assert listener.captured_queries == []


@pytest.mark.django_db(transaction=True)
def test_a_transaction_reads_the_subscriptions_once_without_a_cache(
    subscribe, analyst, vendor, settings
):
    sub = subscribe(internal=True)
    case = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    before = WebhookDelivery.objects.count()

    with CaptureQueriesContext(connection) as notify:
        case_services.notify_vendor(
            actor=analyst, case=case, **notify_kwargs(now(), note="Call", note_shared=False)
        )  # one transaction, three events
    assert _subscription_reads(notify.captured_queries) == 1
    assert WebhookDelivery.objects.count() - before == 3
    inserts = [q for q in notify.captured_queries
               if q["sql"].startswith('INSERT INTO "webhooks_webhookdelivery"')]  # fmt: skip
    assert len(inserts) == 3  # one per event
    assert sent_to(sub)[-3:] == [
        (4, "communication_logged"), (5, "stage_changed"), (6, "note_added"),
    ]  # fmt: skip


def test_a_subscription_change_reaches_the_next_transaction(subscribe, admin_user, analyst, vendor):
    from disclosure.webhooks import services

    make_case(Stage.FOUND, actor=analyst, vendor=vendor)  # caches "no subscription"
    sub = subscribe(internal=True, event_kinds=["case_opened"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    assert len(sent_to(sub)) == 1
    services.update_subscription(
        actor=admin_user, subscription=sub, name="SIEM", url=sub.url, event_kinds=["note_added"]
    )
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    assert len(sent_to(sub)) == 1
