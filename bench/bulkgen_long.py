"""Lengthen one bulk-generated case's chain to thousands of events, fast.

Appends communications (internal notes, outbound and inbound messages in
turn) with their ledger events, hashed and fingerprinted with the
application's own functions like ``bulkgen`` does, and written with COPY on
PostgreSQL. Communications do not change a case's replayed state, so every
new event carries the state digest of the case's last event; the case row's
chain head is moved to the new end. The chain still passes verify_ledger.
"""

import time
from datetime import timedelta

from bench.bulkgen import _EVENT_COLUMNS, _next_id, _reset_sequences, _Sink
from disclosure.cases.models import Case
from disclosure.comms.models import Communication
from disclosure.core.hashing import sha256_hex
from disclosure.ledger.chain import compute_hash, event_body
from disclosure.ledger.fingerprints import COMMUNICATION
from disclosure.ledger.models import CaseEvent

_DIRECTIONS = ("internal", "outbound", "inbound")


def extend(case: Case, n_events: int, *, actor, batch: int = 2000) -> float:
    """Append ``n_events`` communication events to ``case``; return seconds."""
    t0 = time.perf_counter()
    last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    snapshot = last.actor_snapshot
    state, prev, seq, at = last.state, last.hash, last.seq, last.occurred_at
    comm_id, event_id = _next_id(Communication), _next_id(CaseEvent)
    comms, events = _Sink(Communication, COMMUNICATION.columns), _Sink(CaseEvent, _EVENT_COLUMNS)
    for i in range(n_events):
        at = at + timedelta(minutes=1)
        direction = _DIRECTIONS[i % 3]
        body = f"Message {i} about the exposed bucket. " * 3
        sender, to = ("research@firm.example", ["security@vendor.example"])
        if direction == "inbound":
            sender, to = to[0], [sender]
        row = {
            "id": comm_id, "case_id": case.pk, "direction": direction, "channel": "email",
            "sender": sender, "recipients": to, "subject": f"Message {i}", "body": body,
            "body_sha256": sha256_hex(body.encode()), "occurred_at": at,
            "logged_by_id": actor.pk, "logged_at": at,
        }  # fmt: skip
        comms.add(row)
        payload = {
            "communication_id": comm_id, "direction": direction, "channel": "email",
            "sender": sender, "recipients": to, "subject": row["subject"],
            "body_sha256": row["body_sha256"], "attachments": [],
            "record": {"type": "communication", "id": comm_id,
                       "fingerprint": COMMUNICATION.fingerprint({**row, "attachments": []})},
        }  # fmt: skip
        seq += 1
        internal = direction == "internal"
        hashed = event_body(
            case_reference=case.reference, seq=seq, kind="communication_logged",
            occurred_at=at, recorded_at=at, actor=snapshot, payload=payload,
            internal=internal, state=state, prev_hash=prev,
        )  # fmt: skip
        h = compute_hash(hashed)
        events.add({
            "id": event_id, "case_id": case.pk, "seq": seq, "kind": "communication_logged",
            "occurred_at": at, "recorded_at": at, "actor_id": actor.pk,
            "actor_snapshot": snapshot, "payload": payload, "internal": internal, "v": 1,
            "state": state, "prev_hash": prev, "hash": h,
        })  # fmt: skip
        prev, comm_id, event_id = h, comm_id + 1, event_id + 1
        if (i + 1) % batch == 0:
            comms.flush()
            events.flush()
    comms.flush()
    events.flush()
    Case.objects.filter(pk=case.pk).update(ledger_seq=seq, ledger_head=prev, updated_at=at)
    _reset_sequences([Communication, CaseEvent])
    return time.perf_counter() - t0
