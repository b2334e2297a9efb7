"""Webhooks against a real receiver on 127.0.0.1: the signature verifies,
each delivery carries its idempotency key, 500s are retried with back-off,
a lapsed lease is delivered once, a rollback sends nothing."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.db import transaction

from disclosure.cases.stages import Stage
from disclosure.comms import tasks as comms_tasks
from disclosure.core import outbox as engine
from disclosure.webhooks import delivery, signing
from disclosure.webhooks.models import DeliveryStatus, WebhookDelivery
from tests.factories import make_case
from tests.webhooks.conftest import SECRET, T0

pytestmark = pytest.mark.django_db


def opened_case(analyst, vendor, capture):
    with capture(execute=True):
        return make_case(Stage.FOUND, actor=analyst, vendor=vendor)


def test_each_event_is_posted_signed_with_its_idempotency_key(
    subscribe, receiver, analyst, vendor, django_capture_on_commit_callbacks
):
    subscribe(internal=True, event_kinds=["case_opened"])
    case = opened_case(analyst, vendor, django_capture_on_commit_callbacks)

    row = WebhookDelivery.objects.get()
    assert (row.status, row.attempts, row.response_status) == (DeliveryStatus.SENT, 1, 200)
    assert row.response_excerpt == "ok"
    [got] = receiver.received
    assert got.path == "/hook"
    assert got.body == bytes(row.body)
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["Disclosure-Event"] == "case_opened"
    assert got.headers["Disclosure-Delivery"] == str(row.delivery_id)
    assert got.headers["Idempotency-Key"] == str(row.delivery_id)

    # The signature, checked the way docs/webhooks.md tells a receiver to.
    fields = dict(part.split("=", 1) for part in got.headers["Disclosure-Signature"].split(","))
    expected = hmac.new(
        SECRET.encode(), fields["t"].encode() + b"." + got.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert signing.verify(SECRET, got.headers["Disclosure-Signature"], got.body,
                          now=int(fields["t"]))  # fmt: skip
    assert not signing.verify("another-secret-16+", got.headers["Disclosure-Signature"],
                              got.body, now=int(fields["t"]))  # fmt: skip
    assert not signing.verify(SECRET, got.headers["Disclosure-Signature"], got.body + b" ",
                              now=int(fields["t"]))  # fmt: skip
    assert not signing.verify(SECRET, got.headers["Disclosure-Signature"], got.body,
                              now=int(fields["t"]) + 301)  # fmt: skip

    body = got.json
    event = case.events.get(kind="case_opened")
    assert body["format"] == 1
    assert body["delivery_id"] == str(row.delivery_id)
    assert body["redelivery_of"] is None
    assert body["view"] == "internal"
    assert body["case"] == {"reference": case.reference, "vendor_id": vendor.pk}
    assert body["event"]["id"] == event.hash
    assert body["event"]["seq"] == 1
    assert body["event"]["kind"] == "case_opened"
    assert body["event"]["actor"]["username"] == analyst.username
    assert body["event"]["payload"]["details"]["title"] == "Exposed bucket"
    # The body is canonical JSON: sorted keys, compact separators.
    assert got.body == json.dumps(body, sort_keys=True, separators=(",", ":"),
                                  ensure_ascii=False).encode()  # fmt: skip


def test_a_500_is_retried_with_back_off_then_delivered_with_the_same_key(
    subscribe, receiver, analyst, vendor, clock, settings
):
    subscribe(internal=True, event_kinds=["case_opened"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)  # the task request waits for commit
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=T0)
    receiver.answer(500, 503)

    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.QUEUED, 1)
    assert (row.response_status, row.last_error) == (500, "HTTP 500 Internal Server Error")
    assert row.next_attempt_at == T0 + timedelta(seconds=30)

    clock.advance(29)
    assert delivery.dispatch_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    clock.advance(1)
    assert delivery.dispatch_due() == {"sent": 0, "retry": 1, "failed": 0, "skipped": 0}
    row.refresh_from_db()
    assert row.next_attempt_at == T0 + timedelta(seconds=30 + 60)  # doubled

    clock.advance(60)
    assert delivery.dispatch_due() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response_status) == (DeliveryStatus.SENT, 3, 200)
    assert row.last_error == ""
    assert [r.headers["Disclosure-Delivery"] for r in receiver.received] == [
        str(row.delivery_id)
    ] * 3
    assert len({r.headers["Disclosure-Signature"] for r in receiver.received}) == 3  # signed anew
    assert {r.body for r in receiver.received} == {bytes(row.body)}
    assert delivery.dispatch_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert len(receiver.received) == 3


def test_the_last_attempt_or_a_4xx_fails_for_good(
    subscribe, receiver, analyst, vendor, clock, settings
):
    settings.DISCLOSURE_WEBHOOK_MAX_ATTEMPTS = 2
    subscribe(internal=True, event_kinds=["case_opened", "evidence_attached"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    first, second = WebhookDelivery.objects.order_by("id")
    WebhookDelivery.objects.update(next_attempt_at=T0)

    receiver.answer(502, 502)
    assert delivery.deliver(first.pk) == delivery.RETRY
    clock.advance(30)
    assert delivery.deliver(first.pk) == delivery.FAILED
    first.refresh_from_db()
    assert (first.status, first.attempts, first.last_error) == (
        DeliveryStatus.FAILED, 2, "HTTP 502 Bad Gateway",
    )  # fmt: skip

    receiver.answer(410, body=b"gone")
    assert delivery.deliver(second.pk) == delivery.FAILED
    second.refresh_from_db()
    assert (second.status, second.attempts, second.response_status) == (
        DeliveryStatus.FAILED, 1, 410,
    )  # fmt: skip
    assert second.response_excerpt == "gone"
    clock.advance(3600)
    assert delivery.dispatch_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert len(receiver.received) == 3


def test_a_worker_killed_mid_delivery_leaves_it_to_the_next_once_the_lease_ends(
    subscribe, receiver, analyst, vendor, clock
):
    subscribe(internal=True, event_kinds=["case_opened"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=T0)

    # A worker claims it and dies before the receiver answers.
    first = delivery._claim(row.pk)
    assert (first.status, first.attempts) == (DeliveryStatus.SENDING, 1)
    assert first.lease_until == T0 + timedelta(seconds=60)

    clock.advance(59)
    assert delivery.dispatch_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    assert delivery.deliver(row.pk) == delivery.SKIPPED  # still held
    assert receiver.received == []

    clock.advance(1)
    assert delivery.dispatch_due() == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    assert delivery.dispatch_due() == {"sent": 0, "retry": 0, "failed": 0, "skipped": 0}
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(receiver.received) == 1
    # The dead worker, were it to wake, holds nothing any more (fencing).
    assert engine.held(first).update(status=DeliveryStatus.QUEUED) == 0


def test_a_change_that_rolls_back_queues_and_sends_nothing(
    subscribe, receiver, analyst, vendor, django_capture_on_commit_callbacks
):
    subscribe(internal=True)
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
        assert WebhookDelivery.objects.count() > 0
        raise RuntimeError("the change fails after its events")
    assert WebhookDelivery.objects.count() == 0
    assert receiver.received == []
    assert callbacks == []  # no worker is asked for anything


def test_a_refused_address_fails_the_delivery(subscribe, receiver, analyst, vendor, settings):
    subscribe(internal=True, event_kinds=["case_opened"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False

    row = WebhookDelivery.objects.get()
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.status == DeliveryStatus.FAILED
    assert row.last_error.startswith("refused: 127.0.0.1 may not be fetched: ")
    assert receiver.received == []


def test_a_receiver_that_cannot_be_reached_is_retried(subscribe, analyst, vendor, clock):
    from tests.mailservers import free_port

    subscribe(internal=True, event_kinds=["case_opened"], url=f"http://127.0.0.1:{free_port()}/")
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    row = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=row.pk).update(next_attempt_at=T0)
    assert delivery.deliver(row.pk) == delivery.RETRY
    row.refresh_from_db()
    assert row.status == DeliveryStatus.QUEUED
    assert row.response_status is None
    assert row.last_error.startswith("The request failed: ")


def test_a_disabled_subscription_fails_its_queued_deliveries(
    subscribe, receiver, analyst, vendor, admin_user
):
    from disclosure.webhooks import services

    sub = subscribe(internal=True, event_kinds=["case_opened"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    services.set_subscription_active(actor=admin_user, subscription=sub, active=False)
    row = WebhookDelivery.objects.get()
    assert delivery.deliver(row.pk) == delivery.FAILED
    row.refresh_from_db()
    assert row.last_error == "the subscription is disabled"
    assert receiver.received == []


def test_the_one_beat_task_delivers_mail_and_webhooks(subscribe, receiver, analyst, vendor):
    subscribe(internal=True, event_kinds=["case_opened"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)  # no commit: the requests were lost
    result = comms_tasks.dispatch_outbox.apply().get()
    assert result["webhooks"] == {"sent": 1, "retry": 0, "failed": 0, "skipped": 0}
    assert set(result) >= {"mail", "webhooks"}
    assert len(receiver.received) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_post_each_delivery_once(subscribe, receiver, analyst, vendor):
    import threading

    from django.db import connections

    subscribe(internal=True, event_kinds=["case_opened", "evidence_attached"])
    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    # Its two deliveries were sent (eagerly) after commit; queue them again, as
    # if the broker had lost the requests and workers raced for them.
    WebhookDelivery.objects.update(status=DeliveryStatus.QUEUED, attempts=0)
    receiver.received.clear()
    rows = list(WebhookDelivery.objects.values_list("pk", flat=True))
    outcomes: list[str] = []
    lock = threading.Lock()

    def worker(barrier: threading.Barrier, pk: int) -> None:
        try:
            barrier.wait(timeout=10)
            result = delivery.deliver(pk)
            with lock:
                outcomes.append(result)
        finally:
            connections.close_all()

    for pk in rows:
        barrier = threading.Barrier(4)
        threads = [threading.Thread(target=worker, args=(barrier, pk)) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)

    assert sorted(outcomes) == sorted([delivery.SENT] * 2 + [delivery.SKIPPED] * 6)
    assert sorted(r.headers["Disclosure-Delivery"] for r in receiver.received) == sorted(
        str(d) for d in WebhookDelivery.objects.values_list("delivery_id", flat=True)
    )
    assert set(WebhookDelivery.objects.values_list("status", "attempts")) == {
        (DeliveryStatus.SENT, 1)
    }


def test_a_lost_broker_loses_nothing(
    subscribe, receiver, analyst, vendor, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    from disclosure.webhooks import tasks

    def broker_down(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(tasks.deliver_webhook, "apply_async", broker_down)
    subscribe(internal=True, event_kinds=["case_opened"])
    with django_capture_on_commit_callbacks(execute=True):
        make_case(Stage.FOUND, actor=analyst, vendor=vendor)  # the change commits all the same
    row = WebhookDelivery.objects.get()
    assert row.status == DeliveryStatus.QUEUED and receiver.received == []
    assert (
        f"webhooks: could not ask a worker to deliver {row.pk} (OSError: Connection refused); "
        "the periodic dispatch will send it"
    ) in caplog.text

    assert comms_tasks.dispatch_outbox.apply().get()["webhooks"]["sent"] == 1
    assert [r.headers["Disclosure-Delivery"] for r in receiver.received] == [str(row.delivery_id)]
