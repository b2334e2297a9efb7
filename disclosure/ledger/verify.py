"""verify_ledger: recompute every chain and compare it with everything it vouches for.

For each case, in bulk (a few queries per thousand cases, memory flat):
- the chain: seq 1, 2, 3 ... without gaps, each ``prev_hash`` the previous
  hash, each hash recomputed from the row, a known format version, and the
  actor's id the one its snapshot names;
- the end of the chain: the case row's ``ledger_seq``/``ledger_head`` and the
  latest signed checkpoint's entry (events cut from the end, or a chain
  recomputed after a change, are caught there);
- the case row: the state the events replay to (stage, times, hold, details)
  and the state digest the last event recorded;
- the records: every communication, evidence file, attestation, dispute
  and escalation matches the fingerprint of the last event that vouches for
  it, and every such row has an event (``deep`` re-hashes evidence files).

A malformed event is a broken link with a reason, never a crash: the next
case is checked all the same.
"""

import hashlib
import multiprocessing
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, connections
from django.db.models import TextField
from django.db.models.functions import Cast

from disclosure.cases.models import Case
from disclosure.cases.state import (
    STATE_COLUMNS,
    apply_event,
    empty_state,
    row_state,
    state_differences,
    state_digest,
)
from disclosure.core.canonical import loads_refusing_floats
from disclosure.core.timeutils import iso_utc
from disclosure.evidence.storage import CHUNK, open_blob

from .chain import GENESIS, compute_hash, event_body
from .fingerprints import RECORD_TYPES
from .models import FORMAT_VERSION, CaseEvent

CASES_PER_CHUNK = 500
_EVENT_COLUMNS = (
    "case_id", "seq", "kind", "occurred_at", "recorded_at", "actor_id", "actor_snapshot_text",
    "payload_text", "internal", "v", "state", "prev_hash", "hash",
)  # fmt: skip

# A checkpoint's view of the chains: reference -> (seq, head).
Heads = Mapping[str, tuple[int, str]]


@dataclass(frozen=True)
class Problem:
    seq: int | None  # the event concerned, when there is one
    text: str


@dataclass
class ChainReport:
    reference: str
    events: int
    head: str | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def broken_seq(self) -> int | None:
        return self.problems[0].seq if self.problems else None

    @property
    def problem(self) -> str | None:
        return "; ".join(p.text for p in self.problems) if self.problems else None


class _Malformed(Exception):
    pass


def _walk(reference: str, events: list[tuple]) -> tuple[list[str], dict, dict, Problem | None]:
    """Walk one chain. Returns (hashes, replayed state, vouched records, the
    first broken link or None)."""
    hashes: list[str] = []
    state = empty_state()
    vouched: dict[tuple[str, int], tuple[int, str]] = {}
    prev = GENESIS
    for row in events:
        (_, seq, kind, occurred_at, recorded_at, actor_id, snapshot, payload, internal, v,
         ev_state, prev_hash, ev_hash) = row  # fmt: skip
        try:
            # Parsed here, floats refused (canonical JSON has none), so the
            # hash below need not look for them again.
            snapshot, payload = loads_refusing_floats(snapshot), loads_refusing_floats(payload)
        except (TypeError, ValueError) as exc:
            return hashes, state, vouched, Problem(seq, f"malformed event: {exc}")
        expected = len(hashes) + 1
        if seq != expected:
            return hashes, state, vouched, Problem(seq, f"expected seq {expected}, found {seq}")
        if prev_hash != prev:
            return (
                hashes,
                state,
                vouched,
                Problem(seq, "prev_hash does not match the previous event's hash"),
            )
        try:
            if v != FORMAT_VERSION:
                raise _Malformed(f"unknown format version {v!r}")
            body = event_body(
                v=v,
                case_reference=reference,
                seq=seq,
                kind=kind,
                occurred_at=occurred_at,
                recorded_at=recorded_at,
                actor=snapshot,
                payload=payload,
                internal=internal,
                state=ev_state,
                prev_hash=prev_hash,
            )
            if compute_hash(body, check_floats=False) != ev_hash:
                return (
                    hashes,
                    state,
                    vouched,
                    Problem(seq, "hash does not match the event's content (altered row)"),
                )
            if not isinstance(snapshot, dict) or snapshot.get("id") != actor_id:
                raise _Malformed(
                    f"the actor (user {actor_id}) is not the one its snapshot names "
                    f"({snapshot.get('id') if isinstance(snapshot, dict) else snapshot!r})"
                )
            if not isinstance(payload, dict):
                raise _Malformed("the payload is not an object")
            apply_event(state, kind, body["occurred_at"], payload)
            record = payload.get("record")
            if record is not None:
                if not (
                    isinstance(record, dict)
                    and record.get("type") in RECORD_TYPES
                    and isinstance(record.get("id"), int)
                    and isinstance(record.get("fingerprint"), str)
                ):
                    raise _Malformed("the record it vouches for is malformed")
                vouched[(record["type"], record["id"])] = (seq, record["fingerprint"])
        except _Malformed as exc:
            return hashes, state, vouched, Problem(seq, f"malformed event: {exc}")
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return (
                hashes,
                state,
                vouched,
                Problem(seq, f"malformed event: {type(exc).__name__} {exc}"),
            )
        hashes.append(ev_hash)
        prev = ev_hash
    return hashes, state, vouched, None


def _deep_check(evidence_rows: Iterable[dict]) -> list[Problem]:
    problems = []
    for row in evidence_rows:
        digest = hashlib.sha256()
        try:
            with open_blob(row["sha256"]) as blob:
                while chunk := blob.read(CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            problems.append(Problem(None, f"the stored file of evidence {row['id']} is missing"))
            continue
        if digest.hexdigest() != row["sha256"]:
            problems.append(
                Problem(None, f"the stored file of evidence {row['id']} does not match its SHA-256")
            )
    return problems


def _check_case(
    row: dict,
    events: list[tuple],
    records: dict[str, list[dict]],
    checkpointed: tuple[int, str] | None,
    deep: bool,
) -> ChainReport:
    reference = row["reference"]
    hashes, replayed, vouched, broken = _walk(reference, events)
    report = ChainReport(reference, len(hashes), hashes[-1] if hashes else None)
    if broken is not None:
        report.problems.append(broken)
        return report
    problems = report.problems
    if not hashes:
        problems.append(Problem(None, "the case has no events (its chain was removed)"))
    if (row["ledger_seq"], row["ledger_head"]) != (len(hashes), hashes[-1] if hashes else GENESIS):
        problems.append(
            Problem(
                len(hashes) or None,
                f"the case row's head (#{row['ledger_seq']}) is not the chain's last event "
                f"(#{len(hashes)})",
            )
        )
    if checkpointed is not None:
        seq, head = checkpointed
        if seq > len(hashes):
            problems.append(
                Problem(
                    seq,
                    f"the checkpoint vouches for {seq} events, the chain has {len(hashes)} "
                    "(events were removed)",
                )
            )
        elif seq >= 1 and hashes[seq - 1] != head:
            problems.append(
                Problem(seq, "event differs from the checkpointed head (the chain was rewritten)")
            )
    if hashes:
        current = row_state(row)
        diffs = state_differences(current, replayed)
        if diffs:
            problems.append(
                Problem(len(hashes), f"the case row differs from its ledger: {', '.join(diffs)}")
            )
        elif events[-1][10] != state_digest(current):
            problems.append(
                Problem(len(hashes), "the last event's state digest does not match the case")
            )
    for type_name, rows in records.items():
        t = RECORD_TYPES[type_name]
        for values in rows:
            key = (type_name, values["id"])
            entry = vouched.pop(key, None)
            if entry is None:
                problems.append(Problem(None, f"no event vouches for {type_name} {values['id']}"))
            elif t.fingerprint(values) != entry[1]:
                problems.append(
                    Problem(
                        entry[0],
                        f"{type_name} {values['id']} differs from what the ledger recorded",
                    )
                )
    for (type_name, pk), (seq, _) in sorted(vouched.items(), key=lambda kv: kv[1][0]):
        problems.append(Problem(seq, f"{type_name} {pk} is missing"))
    if deep:
        problems.extend(_deep_check(records.get("evidence", ())))
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return report


def _verify_chunk(
    case_ids: list[int], checkpoint: Heads | None, deep: bool, records: bool
) -> list[ChainReport]:
    rows = {
        r["id"]: r
        for r in Case.objects.filter(pk__in=case_ids).values(
            "id", "reference", "ledger_seq", "ledger_head", *STATE_COLUMNS
        )
    }
    events: dict[int, list[tuple]] = defaultdict(list)
    for ev in (
        CaseEvent.objects.filter(case_id__in=case_ids)
        .annotate(
            actor_snapshot_text=Cast("actor_snapshot", TextField()),
            payload_text=Cast("payload", TextField()),
        )
        .order_by("case_id", "seq")
        .values_list(*_EVENT_COLUMNS)
    ):
        events[ev[0]].append(ev)
    by_case: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    if records:
        for name, t in RECORD_TYPES.items():
            for values in t.rows(case_ids):
                by_case[values["case_id"]][name].append(values)
    reports = []
    for pk in case_ids:
        row = rows[pk]
        checkpointed = checkpoint.get(row["reference"]) if checkpoint is not None else None
        reports.append(_check_case(row, events.get(pk, []), by_case[pk], checkpointed, deep))
    return reports


# The checkpoint worker processes read (inherited through fork, not pickled).
_SHARED: dict[str, Any] = {}


def _verify_in_worker(ids: list[int]) -> list[ChainReport]:
    return _verify_chunk(ids, _SHARED["checkpoint"], _SHARED["deep"], _SHARED["records"])


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CASES_PER_CHUNK):
        yield ids[start : start + CASES_PER_CHUNK]


def verify_cases(
    references: list[str] | None = None,
    *,
    deep: bool = False,
    records: bool = True,
    checkpoint: Heads | None = None,
    workers: int = 1,
) -> Iterator[ChainReport]:
    """Reports for the named cases (all when ``references`` is empty), by
    reference; with ``checkpoint`` (reference -> (seq, head)), each chain must
    extend its checkpointed head, and every checkpointed case must exist.

    With ``workers`` > 1 (and outside a transaction), chunks of cases are
    verified in that many forked processes, each with its own connection;
    reports still come in reference order.
    """
    cases = Case.objects.order_by("reference").values_list("pk", "reference")
    if references:
        cases = cases.filter(reference__in=references)
    pairs = list(cases)
    seen = {reference for _, reference in pairs}
    ids = [pk for pk, _ in pairs]
    if workers > 1 and len(ids) > CASES_PER_CHUNK and not connection.in_atomic_block:
        _SHARED.update(checkpoint=checkpoint, deep=deep, records=records)
        connections.close_all()  # the children must not share the parent's socket
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            for reports in pool.map(_verify_in_worker, _chunks(ids)):
                yield from reports
    else:
        for chunk in _chunks(ids):
            yield from _verify_chunk(chunk, checkpoint, deep, records)
    if checkpoint is not None:
        wanted = set(references) if references else None
        for reference in sorted(set(checkpoint) - seen):
            if wanted is None or reference in wanted:
                seq, _ = checkpoint[reference]
                yield ChainReport(
                    reference, 0, None, [Problem(seq, "the checkpointed case is missing")]
                )


# PostgreSQL triggers that keep the ledger tables append-only (migrations 0001, 0002).
APPEND_ONLY_TRIGGERS = {
    "ledger_caseevent": "ledger_caseevent_append_only",
    "ledger_checkpoint": "ledger_checkpoint_append_only",
}


def trigger_problems() -> list[str]:
    """On PostgreSQL, the append-only triggers that are missing or disabled."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, t.tgenabled FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = ANY(%s)",
            [list(APPEND_ONLY_TRIGGERS.values())],
        )
        found = {(table, name): enabled for table, name, enabled in cursor.fetchall()}
    problems = []
    for table, name in APPEND_ONLY_TRIGGERS.items():
        enabled = found.get((table, name))
        if enabled is None:
            problems.append(f"the append-only trigger {name} on {table} is missing")
        elif enabled == "D":
            problems.append(f"the append-only trigger {name} on {table} is disabled")
    return problems


def verify_case(case: Case, *, records: bool = True, deep: bool = False) -> ChainReport:
    """The report of one case (see the module's docstring)."""
    return _verify_chunk([case.pk], None, deep, records)[0]


__all__ = ["ChainReport", "Problem", "iso_utc", "verify_case", "verify_cases"]
