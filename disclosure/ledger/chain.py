"""The hash chain, exactly as DESIGN.md states it.

    hash = sha256(prev_hash + canonical_json(event without hash))

``prev_hash`` of the first event is 64 zeros. The event without its hash is
the object built by ``event_body``: format version ``v``, case reference,
seq, kind, occurred_at, recorded_at, actor snapshot, payload, internal flag,
the digest of the case's ledger state after the event, and prev_hash. Both
``prev_hash`` and the canonical JSON are UTF-8 bytes when concatenated.
"""

from datetime import datetime
from typing import Any

from disclosure.core.canonical import canonical_json
from disclosure.core.hashing import ZERO_HASH, sha256_hex
from disclosure.core.timeutils import iso_utc

from .models import FORMAT_VERSION

GENESIS = ZERO_HASH


def event_body(
    *,
    case_reference: str,
    seq: int,
    kind: str,
    occurred_at: datetime,
    recorded_at: datetime,
    actor: dict[str, Any],
    payload: dict[str, Any],
    internal: bool,
    state: str,
    prev_hash: str,
    v: int = FORMAT_VERSION,
) -> dict[str, Any]:
    """The event as hashed: everything but the hash itself."""
    return {
        "v": v,
        "case": case_reference,
        "seq": seq,
        "kind": kind,
        "occurred_at": iso_utc(occurred_at),
        "recorded_at": iso_utc(recorded_at),
        "actor": actor,
        "payload": payload,
        "internal": internal,
        "state": state,
        "prev_hash": prev_hash,
    }


def compute_hash(body: dict[str, Any], *, check_floats: bool = True) -> str:
    """The event's hash; ``check_floats=False`` for a body whose JSON parts
    were parsed with ``loads_refusing_floats`` (the verifier)."""
    return sha256_hex(
        body["prev_hash"].encode("ascii") + canonical_json(body, check_floats=check_floats)
    )


def body_of(event, case_reference: str) -> dict[str, Any]:
    """The hashed body of a stored CaseEvent."""
    return event_body(
        v=event.v,
        case_reference=case_reference,
        seq=event.seq,
        kind=event.kind,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        actor=event.actor_snapshot,
        payload=event.payload,
        internal=event.internal,
        state=event.state,
        prev_hash=event.prev_hash,
    )
