"""Delivering webhooks: the outbox engine's channel "webhooks".

A delivery row is written in the event's transaction (webhooks.fanout) and
a worker is asked for it after commit; if the broker is down, the periodic
``dispatch_outbox`` finds it queued. ``deliver`` claims the row (the
engine's conditional UPDATE: status sending, attempts + 1, a lease) and
commits that claim before it POSTs, through the guarded HTTP client
(core.guarded_http: the re-probes' address rules, no redirects, a time
budget cut to what is left of the lease, a response size cap). So:

- 2xx: sent, never posted again;
- 408, 425, 429, 5xx, a time-out or a network error: queued again with
  back-off (``DISCLOSURE_WEBHOOK_RETRY_SECONDS`` * 2^(attempt-1), at most an
  hour) until ``DISCLOSURE_WEBHOOK_MAX_ATTEMPTS``, then failed;
- any other answer (3xx, 4xx), an address the guards refuse, or a
  subscription disabled meanwhile: failed at once, with the reason;
- a worker killed before the answer leaves the row "sending"; when its lease
  ends another worker claims it and posts it again, with the same delivery
  id (``Disclosure-Delivery`` and ``Idempotency-Key`` headers). The one
  window for a duplicate: the receiver answered 2xx but "sent" was not
  committed (the worker died, the database was unreachable, or the answer
  came after the lease ran out). The receiver then gets the same delivery id
  twice and de-duplicates by it.

A finished worker writes its outcome only while it still holds the claim
(the attempt number is the fencing token). Each attempt is signed afresh
(``signing``) with the time of that attempt.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings

from disclosure.core import outbox as engine
from disclosure.core.guarded_http import FetchFailed, FetchRefused, guarded_request
from disclosure.core.timeutils import now

from .models import DeliveryStatus, WebhookDelivery
from .signing import headers_for

logger = logging.getLogger(__name__)

SENT = "sent"
RETRY = "retry"
FAILED = "failed"
SKIPPED = "skipped"  # sent, failed, not due, or held by another worker

MAX_RETRY_DELAY = timedelta(hours=1)
# A POST is not started with less than this left of the lease.
LEASE_MARGIN = timedelta(seconds=1)
# What of the receiver's answer is kept.
EXCERPT_BYTES = 2000
RETRY_STATUSES = frozenset({408, 425, 429})

PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5}


def request_delivery(pks: Iterable[int]) -> None:
    """Ask a worker to deliver each of ``pks`` (called after commit). A
    broker that is down is logged, not raised: the periodic dispatch
    delivers them."""
    from . import tasks  # the channel's one dispatcher knows the task

    for pk in pks:
        try:
            tasks.deliver_webhook.apply_async((pk,), retry_policy=PUBLISH_RETRY)
        except Exception as exc:  # the broker is down: the delivery waits, queued
            logger.warning(
                "webhooks: could not ask a worker to deliver %s (%s: %s); "
                "the periodic dispatch will send it",
                pk,
                type(exc).__name__,
                exc,
            )
            return  # the others would fare no better


def retry_delay(attempts: int) -> timedelta:
    """The wait after failed attempt number ``attempts``."""
    return engine.retry_delay(
        attempts, base_seconds=settings.DISCLOSURE_WEBHOOK_RETRY_SECONDS, cap=MAX_RETRY_DELAY
    )


def _claim(pk: int) -> WebhookDelivery | None:
    return engine.claim(
        WebhookDelivery,
        pk,
        at=now(),
        lease=timedelta(seconds=settings.DISCLOSURE_WEBHOOK_LEASE_SECONDS),
    )


def _excerpt(body: bytes) -> str:
    return body[:EXCERPT_BYTES].decode("utf-8", "replace")


def _fail(row: WebhookDelivery, error: str, **extra) -> str:
    recorded = engine.held(row).update(
        status=DeliveryStatus.FAILED, lease_until=None, last_error=error[:2000], **extra
    )
    if not recorded:
        return SKIPPED
    logger.warning("webhooks: delivery %s failed for good: %s", row.delivery_id, error)
    return FAILED


def _retry(row: WebhookDelivery, error: str, **extra) -> str:
    if row.attempts >= settings.DISCLOSURE_WEBHOOK_MAX_ATTEMPTS:
        return _fail(row, error, **extra)
    recorded = engine.held(row).update(
        status=DeliveryStatus.QUEUED,
        lease_until=None,
        last_error=error[:2000],
        next_attempt_at=now() + retry_delay(row.attempts),
        **extra,
    )
    if not recorded:
        return SKIPPED
    logger.info("webhooks: delivery %s will be retried: %s", row.delivery_id, error)
    return RETRY


def deliver(pk: int) -> str:
    """POST webhook delivery ``pk``, at most once per claim.

    Returns ``SENT``, ``RETRY``, ``FAILED`` or ``SKIPPED``. Guarantees: a
    delivery marked sent or failed is never posted again; two workers never
    hold it at once (a lease); see the module docstring for what is retried
    and the one duplicate window. Call it outside a transaction, so that the
    claim is committed before the receiver is spoken to.
    """
    row = _claim(pk)
    if row is None:
        return SKIPPED
    subscription = row.subscription
    if row.attempts > settings.DISCLOSURE_WEBHOOK_MAX_ATTEMPTS:
        error = "the last attempt stopped before the receiver answered"
        if row.last_error:
            error += f"; the one before: {row.last_error}"
        return _fail(row, error)
    if not subscription.active:
        return _fail(row, "the subscription is disabled")
    left = (row.lease_until - now() - LEASE_MARGIN).total_seconds()
    if left <= 0:
        return _retry(row, "the lease ran out before the request")
    timeout = min(float(settings.DISCLOSURE_WEBHOOK_TIMEOUT), left)
    body = bytes(row.body)
    try:
        result = guarded_request(
            "POST",
            subscription.url,
            body=body,
            headers=headers_for(row, subscription.secret, body, at=now()),
            timeout=timeout,
            max_bytes=EXCERPT_BYTES,
            max_redirects=0,
        )
    except FetchRefused as exc:
        return _fail(row, f"refused: {exc.message}")
    except FetchFailed as exc:
        return _retry(row, exc.message)
    except Exception as exc:  # recorded on the row, never lost
        logger.exception("webhooks: delivering %s raised", row.delivery_id)
        return _retry(row, f"{type(exc).__name__}: {exc}")
    answer = {"response_status": result.status, "response_excerpt": _excerpt(result.body)}
    if 200 <= result.status < 300:
        # Recorded even if the claim ran out meanwhile (the duplicate window).
        recorded = (
            WebhookDelivery.objects.filter(pk=row.pk)
            .exclude(status=DeliveryStatus.SENT)
            .update(
                status=DeliveryStatus.SENT,
                sent_at=now(),
                lease_until=None,
                last_error="",
                **answer,
            )
        )
        if not recorded or not engine.was_ours(row):
            logger.warning(
                "webhooks: %s was accepted after this worker's lease ran out", row.delivery_id
            )
        return SENT
    error = f"HTTP {result.status} {result.reason}".strip()
    if result.status >= 500 or result.status in RETRY_STATUSES:
        return _retry(row, error, **answer)
    return _fail(row, error, **answer)


def due_ids(limit: int = 500) -> list[int]:
    """Deliveries waiting now (queued and due, or a lapsed lease), the
    longest waiting first."""
    return engine.due_ids(WebhookDelivery, at=now(), limit=limit)


def dispatch_due(limit: int = 500) -> dict[str, int]:
    """Deliver every due webhook, one after another (the channel's part of
    the periodic ``dispatch_outbox``); counts by outcome."""
    counts = {SENT: 0, RETRY: 0, FAILED: 0, SKIPPED: 0}
    for pk in due_ids(limit):
        counts[deliver(pk)] += 1
    return counts
