"""Appending events to many cases at once, with a number of queries that
does not grow with the cases: what a periodic pass over thousands of cases
(watchers.deadlines) uses instead of one ``append_event`` per case.

Every guarantee of ``services.append_event`` holds for each case: the rows
are locked first (``lock_cases``: ``SELECT ... FOR UPDATE`` in id order, so
two passes never deadlock), each row's head (``ledger_seq``,
``ledger_head``) and state are checked against its last event as
``require_consistent`` does (a row that fails is left out and reported,
never built on), each new event's ``seq`` is the previous + 1, its
``prev_hash`` the previous hash, its ``state`` the digest of the case's
state and its ``hash`` follows ``ledger.chain``; the case rows' heads are
written in the same transaction, and the listeners
(``listeners.appended``) hear of every event. Only events that leave the
case's ledger state as it is may be appended this way (reminders, alarms,
notes of the system): the case's stage, times, details and terms, and so
its stored next deadline (``Case.next_due_at``), are unchanged by them.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import OuterRef, Q, Subquery

from disclosure.accounts.selectors import actor_snapshot
from disclosure.cases import state as case_states
from disclosure.cases.models import Case
from disclosure.cases.state import case_state, state_digest
from disclosure.core import copyrows
from disclosure.core.canonical import to_json_value
from disclosure.core.timeutils import now

from . import listeners
from .chain import GENESIS, compute_hash, event_body
from .models import FORMAT_VERSION, CaseEvent

# Kinds whose events change the case's ledger state (cases.state.apply_event):
# they go through the case services and ``append_event``, never through here.
STATE_KINDS = frozenset({
    case_states.CASE_OPENED, case_states.INTERNAL_DETAILS, case_states.DETAILS_UPDATED,
    case_states.STAGE_CHANGED, case_states.VENDOR_ACKNOWLEDGED,
    case_states.LEGAL_HOLD_CHANGED, case_states.CORRECTION, case_states.POLICY_TERMS_CHANGED,
})  # fmt: skip

_LAST_SEQ, _LAST_HASH, _LAST_STATE = "_bulk_last_seq", "_bulk_last_hash", "_bulk_last_state"
_DIGEST = "_bulk_state_digest"
# Events at once from which append_many writes by COPY (core.copyrows).
COPY_FROM = 50


@dataclass
class LockedCases:
    """What ``lock_cases`` found: the rows that may be appended to (id order)
    and those whose row no longer matches its ledger (left alone)."""

    cases: list[Case] = field(default_factory=list)
    mismatched: list[Case] = field(default_factory=list)


@dataclass(frozen=True)
class NewEvent:
    """One event to append to a case locked by ``lock_cases``."""

    case: Case
    kind: str
    payload: dict[str, Any]
    internal: bool = False
    occurred_at: datetime | None = None


def lock_cases(
    ids: Iterable[int], *, where: Q | None = None, related: Sequence[str] = ("policy",)
) -> LockedCases:
    """Lock the case rows ``ids`` (those that also match ``where``) in id
    order, inside the caller's transaction (with the ``related`` rows, never
    locked), then reads each case's last event: two queries. The rows and
    their last events come back fresh (what another transaction committed
    before the lock was granted). Raises RuntimeError outside
    ``transaction.atomic()``."""
    if not connection.in_atomic_block:
        raise RuntimeError("lock_cases must run inside transaction.atomic()")
    last = CaseEvent.objects.filter(case_id=OuterRef("pk")).order_by("-seq")
    heads = {
        _LAST_SEQ: Subquery(last.values("seq")[:1]),
        _LAST_HASH: Subquery(last.values("hash")[:1]),
        _LAST_STATE: Subquery(last.values("state")[:1]),
    }
    rows = list(
        Case.objects.select_for_update(of=("self",))
        .select_related(*related)
        .filter(where or Q(), pk__in=list(ids))
        .order_by("pk")
    )
    # A second statement, so that on PostgreSQL it sees what a transaction
    # we waited for committed (a locking read returns the rows' newest
    # versions but evaluates subqueries in the snapshot taken before the wait).
    last_events = {
        pk: (seq, head, state)
        for pk, seq, head, state in Case.objects.filter(pk__in=[c.pk for c in rows])
        .annotate(**heads)
        .values_list("pk", _LAST_SEQ, _LAST_HASH, _LAST_STATE)
    }
    found = LockedCases()
    for case in rows:
        seq, last_hash, recorded = last_events[case.pk]
        head = (seq or 0, last_hash or GENESIS)
        setattr(case, _LAST_SEQ, seq)
        digest = state_digest(case_state(case))
        setattr(case, _DIGEST, digest)  # unchanged by the events append_many takes
        if (case.ledger_seq, case.ledger_head) != head or (
            recorded is not None and digest != recorded
        ):
            found.mismatched.append(case)
        else:
            found.cases.append(case)
    return found


def append_many(events: Sequence[NewEvent], *, actor=None) -> list[CaseEvent]:
    """Append ``events`` (to cases locked by ``lock_cases`` in this
    transaction; several to one case are chained in the order given) in a
    fixed number of queries, and return the rows written. ``actor`` None is
    the system itself. Raises ValueError for a kind that changes the case's
    state and RuntimeError outside ``transaction.atomic()``."""
    if not connection.in_atomic_block:
        raise RuntimeError("append_many must run inside transaction.atomic()")
    if not events:
        return []
    refused = {e.kind for e in events} & STATE_KINDS
    if refused:
        raise ValueError(f"{sorted(refused)} change the case's state: use append_event")
    recorded_at = now()
    heads: dict[int, tuple[int, str]] = {}
    digests: dict[int, str] = {}
    cases: dict[int, Case] = {}
    rows = []
    for new in events:
        case = new.case
        if case.pk not in heads:
            if getattr(case, _LAST_SEQ, False) is False:
                raise RuntimeError(f"{case.reference} was not locked by lock_cases")
            heads[case.pk] = (case.ledger_seq, case.ledger_head)
            digests[case.pk] = getattr(case, _DIGEST)
            cases[case.pk] = case
        seq, prev_hash = heads[case.pk]
        seq += 1
        occurred_at = new.occurred_at or recorded_at
        snapshot = actor_snapshot(actor, case=case)
        payload = to_json_value(new.payload)
        body = event_body(
            case_reference=case.reference, seq=seq, kind=new.kind, occurred_at=occurred_at,
            recorded_at=recorded_at, actor=snapshot, payload=payload, internal=new.internal,
            state=digests[case.pk], prev_hash=prev_hash,
        )  # fmt: skip
        row = CaseEvent(
            case=case, seq=seq, kind=new.kind, occurred_at=occurred_at, recorded_at=recorded_at,
            actor=actor, actor_snapshot=snapshot, payload=payload, internal=new.internal,
            v=FORMAT_VERSION, state=digests[case.pk], prev_hash=prev_hash,
            hash=compute_hash(body),
        )  # fmt: skip
        rows.append(row)
        heads[case.pk] = (seq, row.hash)
    # A large batch (a chunk of received mail) by binary COPY: bulk_create's
    # arrays of JSON payloads cost the client more than the database's work.
    written = (
        copyrows.insert(rows)
        if len(rows) >= COPY_FROM
        else CaseEvent.objects.bulk_create(rows, batch_size=2000)
    )
    for pk, (seq, head) in heads.items():
        cases[pk].ledger_seq, cases[pk].ledger_head = seq, head
        setattr(cases[pk], _LAST_SEQ, seq)
        setattr(cases[pk], _LAST_HASH, head)
    _write_heads(heads)
    listeners.appended(written)
    return written


def _write_heads(heads: dict[int, tuple[int, str]]) -> None:
    """Set ``ledger_seq``/``ledger_head`` of many case rows: one UPDATE ...
    FROM (VALUES ...) on PostgreSQL per 2,000 rows, ``bulk_update`` elsewhere
    (one case's: the ORM's UPDATE of that row)."""
    items = sorted(heads.items())
    if len(items) == 1:  # one case: the plain UPDATE append_event writes
        ((pk, (seq, head)),) = items
        Case.objects.filter(pk=pk).update(ledger_seq=seq, ledger_head=head)
        return
    if connection.vendor == "postgresql":
        table = Case._meta.db_table
        for start in range(0, len(items), 2000):
            part = items[start : start + 2000]
            values = ", ".join(["(%s, %s, %s)"] * len(part))
            params = [x for pk, (seq, head) in part for x in (pk, seq, head)]
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {table} AS c SET ledger_seq = v.seq, ledger_head = v.head "
                    f"FROM (VALUES {values}) AS v(id, seq, head) WHERE c.id = v.id",
                    params,
                )
        return
    updated = [Case(pk=pk, ledger_seq=seq, ledger_head=head) for pk, (seq, head) in items]
    with transaction.atomic():
        Case.objects.bulk_update(updated, ["ledger_seq", "ledger_head"], batch_size=500)
