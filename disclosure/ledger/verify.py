"""verify_ledger: recompute every chain and compare it with everything it vouches for.

For each case, in bulk (a few queries per thousand cases, memory flat):
- the chain: seq 1, 2, 3 ... without gaps, each ``prev_hash`` the previous
  hash, each hash recomputed from the row, a known format version, and the
  actor's id the one its snapshot names;
- the end of the chain: the case row's ``ledger_seq``/``ledger_head`` and the
  latest signed checkpoint's entry (events cut from the end, or a chain
  recomputed after a change, are caught there);
- the case row: the state the events replay to (stage, times, hold,
  details, disclosure terms) and the state digest the last event recorded;
- the disclosure terms: every case has terms in its ledger, and a case not
  closed runs under its policy's terms as the policy row states them now
  (``edit_policy`` records each change on every such case), so a policy
  edited outside the application is named;
- the records: every communication, evidence file, attestation, dispute
  and escalation matches the fingerprint of the last event that vouches for
  it, and every such row has an event (``deep`` re-hashes evidence files).

A malformed event is a broken link with a reason, never a crash: the next
case is checked all the same.
"""

import hashlib
import multiprocessing
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
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
from disclosure.cases.terms import TERMS_FIELDS, terms_differences
from disclosure.core.canonical import loads_refusing_floats
from disclosure.core.timeutils import iso_utc
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.storage import CHUNK, open_blob

from .chain import GENESIS, compute_hash, event_body
from .fingerprints import RECORD_TYPES
from .models import FORMAT_VERSION, CaseEvent
from .triggers import trigger_problems  # noqa: F401 (verify_ledger and the nightly task)

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


@dataclass
class _Walk:
    """What walking one chain leaves: nothing but its summary, however long."""

    count: int = 0
    head: str = GENESIS
    last_state: str | None = None
    checkpointed_hash: str | None = None  # the hash at the checkpointed seq
    broken: Problem | None = None
    replayed: dict = field(default_factory=empty_state)
    terms_seq: int | None = None  # the event that recorded the terms in force
    vouched: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)


def _walk(reference: str, events: Iterable[tuple], checkpoint_seq: int | None) -> _Walk:
    """Walk one chain, streaming, until its end or its first broken link."""
    w = _Walk()
    state, vouched = w.replayed, w.vouched
    for row in events:
        (_, seq, kind, occurred_at, recorded_at, actor_id, snapshot, payload, internal, v,
         ev_state, prev_hash, ev_hash) = row  # fmt: skip
        w.broken = _link_problem(w, seq, prev_hash)
        if w.broken is not None:
            return w
        try:
            # Parsed here, floats refused (canonical JSON has none), so the
            # hash below need not look for them again.
            snapshot, payload = loads_refusing_floats(snapshot), loads_refusing_floats(payload)
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
                w.broken = Problem(seq, "hash does not match the event's content (altered row)")
                return w
            if not isinstance(snapshot, dict) or snapshot.get("id") != actor_id:
                raise _Malformed(
                    f"the actor (user {actor_id}) is not the one its snapshot names "
                    f"({snapshot.get('id') if isinstance(snapshot, dict) else snapshot!r})"
                )
            if not isinstance(payload, dict):
                raise _Malformed("the payload is not an object")
            terms = state["terms"]
            apply_event(state, kind, body["occurred_at"], payload)
            if state["terms"] is not terms:
                w.terms_seq = seq
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
            w.broken = Problem(seq, f"malformed event: {exc}")
            return w
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            w.broken = Problem(seq, f"malformed event: {type(exc).__name__} {exc}")
            return w
        w.count, w.head, w.last_state = seq, ev_hash, ev_state
        if seq == checkpoint_seq:
            w.checkpointed_hash = ev_hash
    return w


def _link_problem(w: _Walk, seq: int, prev_hash: str) -> Problem | None:
    if seq != w.count + 1:
        return Problem(seq, f"expected seq {w.count + 1}, found {seq}")
    if prev_hash != w.head:
        return Problem(seq, "prev_hash does not match the previous event's hash")
    return None


def _deep_problem(row: dict) -> Problem | None:
    digest = hashlib.sha256()
    try:
        with open_blob(row["sha256"]) as blob:
            while chunk := blob.read(CHUNK):
                digest.update(chunk)
    except FileNotFoundError:
        return Problem(None, f"the stored file of evidence {row['id']} is missing")
    if digest.hexdigest() != row["sha256"]:
        return Problem(None, f"the stored file of evidence {row['id']} does not match its SHA-256")
    return None


# The case's policy as its row states it now (read with the case row).
_POLICY_COLUMNS = ("policy__name", *(f"policy__{name}" for name in TERMS_FIELDS))


def _terms_problem(row: dict, w: _Walk) -> Problem | None:
    """Whether the case's terms are vouched for: recorded in its ledger and,
    while it is open, still its policy's as the policy row states them."""
    recorded = w.replayed["terms"]
    if recorded is None:
        return Problem(
            None, "its ledger records no disclosure terms (its deadlines are not vouched for)"
        )
    if row["closed_at"] is not None:
        return None  # a closed case keeps the terms it ran under
    name, current = row["policy__name"], {f: row[f"policy__{f}"] for f in TERMS_FIELDS}
    changed = terms_differences(recorded, current)
    if not changed:
        return None
    said = ", ".join(f"{f} {current[f]} (recorded {recorded[f]})" for f in changed)
    return Problem(
        w.terms_seq,
        f"the policy {name!r} now says {said}, but no event recorded that change for this "
        f"case (its terms were recorded at event #{w.terms_seq}): the policy was changed "
        "outside the application",
    )


def _check_chain(row: dict, w: _Walk, checkpointed: tuple[int, str] | None) -> ChainReport:
    """The report on one chain, its head, its checkpoint, its case row and
    its disclosure terms."""
    report = ChainReport(row["reference"], w.count, w.head if w.count else None)
    if w.broken is not None:
        report.problems.append(w.broken)
        return report
    problems = report.problems
    if not w.count:
        problems.append(Problem(None, "the case has no events (its chain was removed)"))
    if (row["ledger_seq"], row["ledger_head"]) != (w.count, w.head):
        problems.append(
            Problem(
                w.count or None,
                f"the case row's head (#{row['ledger_seq']}) is not the chain's last event "
                f"(#{w.count})",
            )
        )
    if checkpointed is not None:
        seq, head = checkpointed
        if seq > w.count:
            problems.append(
                Problem(
                    seq,
                    f"the checkpoint vouches for {seq} events, the chain has {w.count} "
                    "(events were removed)",
                )
            )
        elif seq >= 1 and w.checkpointed_hash != head:
            problems.append(
                Problem(seq, "event differs from the checkpointed head (the chain was rewritten)")
            )
    if w.count:
        current = row_state(row)
        diffs = state_differences(current, w.replayed)
        if diffs:
            problems.append(
                Problem(w.count, f"the case row differs from its ledger: {', '.join(diffs)}")
            )
        elif w.last_state != state_digest(current):
            problems.append(
                Problem(w.count, "the last event's state digest does not match the case")
            )
        if (terms_problem := _terms_problem(row, w)) is not None:
            problems.append(terms_problem)
    return report


def _check_records(
    case_ids: list[int], walks: dict[int, _Walk], reports: dict[int, ChainReport], deep: bool
) -> None:
    """Compare every record row of these cases with the events that vouch
    for it, streaming the rows; problems go to the cases' reports."""
    # Files whose content the retention rule purged (an evidence_purged
    # event says so) have no bytes to re-hash.
    purged = (
        set(
            EvidenceFile.objects.filter(case_id__in=case_ids, purged_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        if deep
        else set()
    )
    for type_name, t in RECORD_TYPES.items():
        for values in t.iter_rows(case_ids):
            w = walks[values["case_id"]]
            if w.broken is not None:
                continue  # a broken chain is reported by its first broken link
            problems = reports[values["case_id"]].problems
            entry = w.vouched.pop((type_name, values["id"]), None)
            if entry is None:
                problems.append(Problem(None, f"no event vouches for {type_name} {values['id']}"))
            elif t.fingerprint(values) != entry[1]:
                problems.append(
                    Problem(
                        entry[0],
                        f"{type_name} {values['id']} differs from what the ledger recorded",
                    )
                )
            if (
                deep
                and type_name == "evidence"
                and values["id"] not in purged
                and (problem := _deep_problem(values))
            ):
                problems.append(problem)
    for pk in case_ids:
        w = walks[pk]
        if w.broken is None:
            for (type_name, record_id), (seq, _) in sorted(
                w.vouched.items(), key=lambda kv: kv[1][0]
            ):
                reports[pk].problems.append(Problem(seq, f"{type_name} {record_id} is missing"))


def _verify_chunk(
    case_ids: list[int], checkpoint: Heads | None, deep: bool, records: bool
) -> list[ChainReport]:
    rows = {
        r["id"]: r
        for r in Case.objects.filter(pk__in=case_ids).values(
            "id", "reference", "ledger_seq", "ledger_head", *STATE_COLUMNS, *_POLICY_COLUMNS
        )
    }
    events = (
        CaseEvent.objects.filter(case_id__in=case_ids)
        .annotate(
            actor_snapshot_text=Cast("actor_snapshot", TextField()),
            payload_text=Cast("payload", TextField()),
        )
        .order_by("case_id", "seq")
        .values_list(*_EVENT_COLUMNS)
    )

    def checkpointed(pk: int) -> tuple[int, str] | None:
        return checkpoint.get(rows[pk]["reference"]) if checkpoint is not None else None

    walks: dict[int, _Walk] = {}
    for pk, chain in groupby(events.iterator(chunk_size=2000), key=itemgetter(0)):
        walks[pk] = _walk(rows[pk]["reference"], chain, (checkpointed(pk) or (None,))[0])
    reports: dict[int, ChainReport] = {}
    for pk in case_ids:
        walks.setdefault(pk, _Walk())
        reports[pk] = _check_chain(rows[pk], walks[pk], checkpointed(pk))
    if records:
        _check_records(case_ids, walks, reports, deep)
    for report in reports.values():
        report.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    return [reports[pk] for pk in case_ids]


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


def verify_case(case: Case, *, records: bool = True, deep: bool = False) -> ChainReport:
    """The report of one case (see the module's docstring)."""
    return _verify_chunk([case.pk], None, deep, records)[0]


__all__ = ["ChainReport", "Problem", "iso_utc", "verify_case", "verify_cases"]
