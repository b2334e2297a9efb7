"""Fan-out: every appended ledger event becomes one delivery per matching
active subscription, written in the event's own transaction (a change that
rolls back queues nothing) and handed to a worker after commit.

What it costs. The active subscriptions are one snapshot of plain values:
read from the cache (``SNAPSHOT_KEY``, kept ``SNAPSHOT_SECONDS``, dropped at
once by every subscription change, in the changing process and, with the
shared cache production runs, in every process), else with one query, and
remembered for the rest of the transaction. So a transaction that appends
many events reads the subscriptions at most once, and none at all while the
cache holds them; with no subscription, an append costs no query here. A
matching event costs one INSERT of its deliveries, plus, when a
non-internal subscription matches, one query for the vendor's view of it.

Who gets what (docs/webhooks.md):
- an internal event (one a vendor is never shown: ``cases.visibility``)
  only goes to subscriptions marked internal;
- an internal subscription gets the whole event; the others get the
  event as the case's vendor is shown it (``vendor_view.project_event``:
  declared payload keys, the firm's people named only as the firm), and
  only once the vendor has been notified of the case;
- ``event_kinds``, ``vendors`` and ``cases`` narrow a subscription (an
  empty list: no narrowing).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.cache import cache
from django.db import transaction

from disclosure.cases.visibility import vendor_may_see_event
from disclosure.core.canonical import canonical_json
from disclosure.core.timeutils import now

from .models import DeliveryStatus, WebhookDelivery, WebhookSubscription

logger = logging.getLogger(__name__)

SNAPSHOT_KEY = "webhooks:subscriptions:v1"
# A safety net for a cache each process keeps for itself (locmem): a change
# reaches the other processes within this time. A shared cache drops the
# snapshot at once.
SNAPSHOT_SECONDS = 60

FORMAT = 1  # the "format" of the JSON body (docs/webhooks.md)


@dataclass(frozen=True)
class Target:
    """What the fan-out needs of one active subscription."""

    id: int
    event_kinds: frozenset[str]
    vendor_ids: frozenset[int]
    case_ids: frozenset[int]
    internal: bool

    def wants(self, event: Any, case: Any) -> bool:
        """Whether this subscription receives ``event`` of ``case``."""
        if self.event_kinds and event.kind not in self.event_kinds:
            return False
        if self.vendor_ids and case.vendor_id not in self.vendor_ids:
            return False
        if self.case_ids and case.pk not in self.case_ids:
            return False
        if self.internal:
            return True
        return vendor_may_see_event(event.kind, event.internal) and (
            case.vendor_notified_at is not None
        )


def load_targets() -> tuple[Target, ...]:
    """The active subscriptions, read with one query (their vendors and
    cases joined in)."""
    rows = WebhookSubscription.objects.filter(active=True).values_list(
        "id", "event_kinds", "internal", "vendors__id", "cases__id"
    )
    found: dict[int, dict[str, Any]] = {}
    for pk, kinds, internal, vendor_id, case_id in rows:
        entry = found.setdefault(
            pk, {"kinds": frozenset(kinds or ()), "internal": internal, "v": set(), "c": set()}
        )
        if vendor_id is not None:
            entry["v"].add(vendor_id)
        if case_id is not None:
            entry["c"].add(case_id)
    return tuple(
        Target(pk, e["kinds"], frozenset(e["v"]), frozenset(e["c"]), e["internal"])
        for pk, e in sorted(found.items())
    )


def cached_targets() -> tuple[Target, ...]:
    """The active subscriptions from the cache, else from the database
    (then cached)."""
    targets = cache.get(SNAPSHOT_KEY)
    if targets is None:
        targets = load_targets()
        cache.set(SNAPSHOT_KEY, targets, SNAPSHOT_SECONDS)
    return targets


def forget_subscriptions() -> None:
    """Drop the cached snapshot now and again after the changing transaction
    commits (so that no process caches the state before the commit)."""
    cache.delete(SNAPSHOT_KEY)
    transaction.on_commit(lambda: cache.delete(SNAPSHOT_KEY), robust=True)
    run = _current_run()
    if run is not None:  # a change inside a transaction that has appended events
        run.targets = None


class _TransactionRun:
    """The subscriptions read for one transaction and the deliveries it
    queued; registered with ``on_commit``, where it asks workers to deliver
    them. Django drops it with the transaction (or the savepoint it was
    registered in) when that rolls back."""

    def __init__(self, targets: tuple[Target, ...]) -> None:
        self.targets: tuple[Target, ...] | None = targets  # None: read again
        self.delivery_ids: list[int] = []

    def __call__(self) -> None:
        if self.delivery_ids:
            from .delivery import request_delivery  # the dispatcher knows the task

            request_delivery(self.delivery_ids)


def _current_run() -> _TransactionRun | None:
    connection = transaction.get_connection()
    for entry in connection.run_on_commit:
        if isinstance(entry[1], _TransactionRun):
            return entry[1]
    return None


def _run() -> _TransactionRun:
    """This transaction's run, made (with the subscriptions read) on first
    use; read again after a subscription changed in this transaction."""
    run = _current_run()
    if run is None:
        run = _TransactionRun(cached_targets())
        transaction.on_commit(run, robust=True)
    elif run.targets is None:
        run.targets = cached_targets()
    return run


def event_json(event: Any, case: Any) -> dict[str, Any]:
    """The whole event as an internal subscription receives it."""
    return {
        "id": event.hash,
        "case": case.reference,
        "seq": event.seq,
        "kind": event.kind,
        "internal": bool(event.internal),
        "occurred_at": event.occurred_at,
        "recorded_at": event.recorded_at,
        "actor": event.actor_snapshot,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def vendor_event_json(event: Any, case: Any) -> dict[str, Any] | None:
    """The event as the case's vendor is shown it (one query), or None when
    the vendor is not shown it."""
    from disclosure.cases import vendor_view
    from disclosure.ledger.models import CaseEvent

    columns = (
        "seq", "kind", "internal", "occurred_at", "recorded_at", "actor_snapshot", "payload",
        "prev_hash", "hash", *vendor_view.SCOPE_COLUMNS,
    )  # fmt: skip
    row = (
        vendor_view.with_vendor_scope(CaseEvent.objects.filter(pk=event.pk), case=case)
        .values(*columns)
        .first()
    )
    projected = vendor_view.project_event(row) if row is not None else None
    if projected is None:
        return None
    return {"id": event.hash, "case": case.reference, "internal": False, **projected}


def case_json(case: Any) -> dict[str, Any]:
    """The case as every body names it."""
    return {"reference": case.reference, "vendor_id": case.vendor_id}


def body_for(
    *, delivery_id: uuid.UUID, subscription_id: int, event: dict[str, Any],
    case: dict[str, Any], view: str, redelivery_of: uuid.UUID | None = None,
) -> bytes:  # fmt: skip
    """The exact bytes POSTed (canonical JSON: sorted keys, compact, UTF-8)."""
    return canonical_json(
        {
            "format": FORMAT,
            "delivery_id": str(delivery_id),
            "redelivery_of": str(redelivery_of) if redelivery_of else None,
            "subscription": subscription_id,
            "view": view,
            "case": case,
            "event": event,
        }
    )


def on_events_appended(events: Sequence[Any]) -> None:
    """The ledger listener: queue the deliveries of ``events`` (CaseEvent
    rows just written, in the appending transaction)."""
    run = _run()
    if not run.targets:
        return
    at = now()
    for event in events:
        case = event.case
        matched = [t for t in run.targets if t.wants(event, case)]
        if not matched:
            continue
        views: dict[str, dict[str, Any] | None] = {}
        rows = []
        for target in matched:
            view = "internal" if target.internal else "vendor"
            if view not in views:
                project = event_json if target.internal else vendor_event_json
                views[view] = project(event, case)
            payload = views[view]
            if payload is None:
                continue  # the vendor is not shown it
            delivery_id = uuid.uuid4()
            rows.append(
                WebhookDelivery(
                    delivery_id=delivery_id,
                    subscription_id=target.id,
                    case=case,
                    event=event,
                    event_kind=event.kind,
                    body=body_for(
                        delivery_id=delivery_id,
                        subscription_id=target.id,
                        event=payload,
                        case=case_json(case),
                        view=view,
                    ),
                    status=DeliveryStatus.QUEUED,
                    next_attempt_at=at,
                    created_at=at,
                )
            )
        if rows:
            created = WebhookDelivery.objects.bulk_create(rows)
            run.delivery_ids.extend(r.pk for r in created if r.pk is not None)
