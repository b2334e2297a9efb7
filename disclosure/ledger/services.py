"""Appending to the ledger. The only writer of CaseEvent rows."""

from datetime import datetime
from typing import Any

from django.db import connection

from disclosure.accounts.selectors import actor_snapshot
from disclosure.core.canonical import to_json_value
from disclosure.core.timeutils import now

from .chain import GENESIS, compute_hash, event_body
from .models import CaseEvent


def append_event(
    *,
    case,
    kind: str,
    actor,
    occurred_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
    internal: bool = False,
) -> CaseEvent:
    """Append the next event of ``case``'s chain and return it.

    Guarantees: ``seq`` is the previous seq + 1 (1 for the first), ``prev_hash``
    is the previous event's hash (64 zeros for the first), ``hash`` follows
    ``ledger.chain``. The caller must hold the case row lock inside an atomic
    block (every case service does), so two writers never pick the same seq;
    the unique (case, seq) constraint is the last line of defence.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("append_event must run inside transaction.atomic()")
    recorded_at = now()
    last = CaseEvent.objects.filter(case=case).order_by("-seq").values("seq", "hash").first()
    seq = last["seq"] + 1 if last else 1
    prev_hash = last["hash"] if last else GENESIS
    snapshot = actor_snapshot(actor)
    payload = to_json_value(payload or {})
    body = event_body(
        case_reference=case.reference,
        seq=seq,
        kind=kind,
        occurred_at=occurred_at or recorded_at,
        recorded_at=recorded_at,
        actor=snapshot,
        payload=payload,
        internal=internal,
        prev_hash=prev_hash,
    )
    return CaseEvent.objects.create(
        case=case,
        seq=seq,
        kind=kind,
        occurred_at=occurred_at or recorded_at,
        recorded_at=recorded_at,
        actor=actor,
        actor_snapshot=snapshot,
        payload=payload,
        internal=internal,
        prev_hash=prev_hash,
        hash=compute_hash(body),
    )
