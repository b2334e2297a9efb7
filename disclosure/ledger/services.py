"""Appending to the ledger. The only writer of CaseEvent rows."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.db import connection

from disclosure.accounts.selectors import actor_snapshot
from disclosure.cases.models import Case
from disclosure.cases.state import case_state, state_digest
from disclosure.core.canonical import to_json_value
from disclosure.core.errors import LedgerMismatch
from disclosure.core.timeutils import now

from . import listeners
from .chain import GENESIS, compute_hash, event_body
from .models import FORMAT_VERSION, CaseEvent

_CHECKED = "_ledger_checked_head"
_DEFERRED = "_ledger_head_deferred"


def _last_event(case: Case) -> tuple[int, str, str | None]:
    last = (
        CaseEvent.objects.filter(case_id=case.pk)
        .order_by("-seq")
        .values_list("seq", "hash", "state")
        .first()
    )
    return last or (0, GENESIS, None)


def _head_mismatch(case: Case, seq: int, head: str) -> LedgerMismatch:
    return LedgerMismatch(
        f"{case.reference}'s record says its ledger ends at event #{case.ledger_seq}, "
        f"but the ledger ends at #{seq}: the record was changed outside the application. "
        "Nothing was changed; run verify_ledger."
    )


def require_consistent(case: Case) -> None:
    """Raise LedgerMismatch unless the locked ``case`` row still matches its
    ledger: its head (``ledger_seq``, ``ledger_head``) is the last event, and
    its state (cases.state) is the one the last event recorded.

    Every case service calls this right after locking the row, before it
    changes anything, so nothing is built on a row falsified behind its back.
    """
    seq, head, state = _last_event(case)
    if (case.ledger_seq, case.ledger_head) != (seq, head):
        raise _head_mismatch(case, seq, head)
    if state is not None and state_digest(case_state(case)) != state:
        raise LedgerMismatch(
            f"{case.reference}'s record differs from the state its ledger recorded at "
            f"event #{seq} (stage, times, hold or details were changed outside the "
            "application). Nothing was changed; run verify_ledger."
        )
    setattr(case, _CHECKED, (seq, head))


def append_event(
    *,
    case: Case,
    kind: str,
    actor,
    occurred_at: datetime | None = None,
    payload: dict[str, Any] | None = None,
    internal: bool = False,
) -> CaseEvent:
    """Append the next event of ``case``'s chain and return it.

    Guarantees: ``seq`` is the previous seq + 1 (1 for the first), ``prev_hash``
    is the previous event's hash (64 zeros for the first), ``state`` is the
    digest of the case's state as ``case`` now holds it, ``hash`` follows
    ``ledger.chain``, and the case row's ``ledger_seq``/``ledger_head`` are the
    new event's, written in the same transaction: at once, or, inside
    ``head_written_once(case)``, when that block ends (``case``, the instance,
    holds the new head at once either way). The caller must hold the
    case row lock inside an atomic block (every case service does), so two
    writers never pick the same seq; the unique (case, seq) constraint is the
    last line of defence. Raises LedgerMismatch when the row's head is not
    the ledger's last event.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("append_event must run inside transaction.atomic()")
    if getattr(case, _CHECKED, None) != (case.ledger_seq, case.ledger_head):
        seq, head, _ = _last_event(case)
        if (case.ledger_seq, case.ledger_head) != (seq, head):
            raise _head_mismatch(case, seq, head)
    seq, prev_hash = case.ledger_seq + 1, case.ledger_head
    recorded_at = now()
    occurred_at = occurred_at or recorded_at
    snapshot = actor_snapshot(actor, case=case)
    payload = to_json_value(payload or {})
    state = state_digest(case_state(case))
    body = event_body(
        case_reference=case.reference,
        seq=seq,
        kind=kind,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        actor=snapshot,
        payload=payload,
        internal=internal,
        state=state,
        prev_hash=prev_hash,
    )
    event = CaseEvent.objects.create(
        case=case,
        seq=seq,
        kind=kind,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        actor=actor,
        actor_snapshot=snapshot,
        payload=payload,
        internal=internal,
        v=FORMAT_VERSION,
        state=state,
        prev_hash=prev_hash,
        hash=compute_hash(body),
    )
    if not getattr(case, _DEFERRED, False):
        Case.objects.filter(pk=case.pk).update(ledger_seq=seq, ledger_head=event.hash)
    case.ledger_seq, case.ledger_head = seq, event.hash
    setattr(case, _CHECKED, (seq, event.hash))
    listeners.appended([event])
    return event


@contextmanager
def head_written_once(case: Case) -> Iterator[Case]:
    """Inside the block, ``append_event`` on ``case`` (this instance) leaves
    the case row's head (``ledger_seq``, ``ledger_head``) to one UPDATE when
    the block ends normally, instead of one after every event: for a writer
    that appends several events to one case in one transaction (a received
    message: its raw message, its attachments, its communication). Every
    other guarantee of ``append_event`` holds event by event (seq, chain,
    state, listeners told of each event).

    Use it directly inside the atomic block that holds the case lock (the
    row is then written before that block commits), and read the head from
    the instance, not the row, until the block ends. When the block raises,
    nothing is written: its events roll back with the transaction around it.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("head_written_once must run inside transaction.atomic()")
    if getattr(case, _DEFERRED, False):  # nested: the outer block writes
        yield case
        return
    start = (case.ledger_seq, case.ledger_head)
    setattr(case, _DEFERRED, True)
    try:
        yield case
    finally:
        delattr(case, _DEFERRED)
    if (case.ledger_seq, case.ledger_head) != start:
        Case.objects.filter(pk=case.pk).update(
            ledger_seq=case.ledger_seq, ledger_head=case.ledger_head
        )
