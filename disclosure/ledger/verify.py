"""Recompute hash chains and report the first broken link."""

from collections.abc import Iterator
from dataclasses import dataclass

from disclosure.cases.models import Case

from .chain import GENESIS, body_of, compute_hash
from .models import CaseEvent
from .records import verify_records


@dataclass(frozen=True)
class ChainReport:
    reference: str
    events: int
    head: str | None
    broken_seq: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify_case(case: Case, *, records: bool = True, deep: bool = False) -> ChainReport:
    """Walk ``case``'s events in seq order; stop at the first broken link.

    A link is broken when seq skips or repeats, when prev_hash is not the
    previous event's hash, or when the stored hash differs from the one
    recomputed from the row as it is now. With ``records`` (the default), an
    intact chain is then compared with the communications, evidence files and
    attestations it vouches for (ledger.records; ``deep`` re-hashes the
    stored evidence files too).
    """
    expected_seq, prev_hash, count = 1, GENESIS, 0
    events = CaseEvent.objects.filter(case_id=case.pk).order_by("seq")
    for event in events.iterator(chunk_size=500):
        if event.seq != expected_seq:
            return ChainReport(
                case.reference,
                count,
                prev_hash,
                event.seq,
                f"expected seq {expected_seq}, found {event.seq}",
            )
        if event.prev_hash != prev_hash:
            return ChainReport(
                case.reference,
                count,
                prev_hash,
                event.seq,
                "prev_hash does not match the previous event's hash",
            )
        recomputed = compute_hash(body_of(event, case.reference))
        if recomputed != event.hash:
            return ChainReport(
                case.reference,
                count,
                prev_hash,
                event.seq,
                "hash does not match the event's content (altered row)",
            )
        prev_hash, expected_seq, count = event.hash, expected_seq + 1, count + 1
    if records:
        problem = verify_records(case, deep=deep)
        if problem is not None:
            seq, text = problem
            return ChainReport(case.reference, count, prev_hash, seq, text)
    return ChainReport(case.reference, count, prev_hash if count else None)


def verify_cases(
    references: list[str] | None = None, *, deep: bool = False
) -> Iterator[ChainReport]:
    """Verify the named cases (all when ``references`` is empty), by reference."""
    cases = Case.objects.order_by("reference").only("pk", "reference")
    if references:
        cases = cases.filter(reference__in=references)
    for case in cases.iterator(chunk_size=200):
        yield verify_case(case, deep=deep)
