"""Whose turn it is on a case: ours (the firm's) or the vendor's, and since when.

Read from the case's milestones and its last messages each way (automatic
replies and bounces are no answer; internal notes are neither side's move):

- not yet notified: ours (tell the vendor), since the exposure was found;
- closed: nobody's (``party`` None), since it closed;
- the vendor wrote after our last message: ours (answer), since their message;
- the asset is not secured yet (the vendor's work): the vendor's, since the
  later of the notice, its acknowledgement and our last message;
- otherwise (secured; deletion, publication and closing are the firm's
  work): ours, since the later of the last milestone and their last message.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max

from disclosure.cases.models import Case
from disclosure.comms.models import Communication, Direction

OURS, VENDOR = "ours", "vendor"


@dataclass(frozen=True)
class Turn:
    party: str | None  # "ours", "vendor", or None (closed)
    since: datetime

    @property
    def label(self) -> str:
        return {OURS: "Ours", VENDOR: "The vendor's"}.get(self.party or "", "Nobody's")


def _latest(case_ids: list[int]) -> dict[tuple[int, str], datetime]:
    """(case id, direction) -> the time of the last message that way: one query."""
    rows = (
        Communication.objects.filter(
            case_id__in=case_ids, direction__in=[Direction.INBOUND, Direction.OUTBOUND]
        )
        .filter(automated="")
        .values("case_id", "direction")
        .annotate(last=Max("occurred_at"))
        .order_by()
    )
    return {(r["case_id"], r["direction"]): r["last"] for r in rows}


def turn_from(
    case: Case, last_in: datetime | None = None, last_out: datetime | None = None
) -> Turn:
    """The turn of ``case`` given the times of its last message from the
    vendor (``last_in``) and to it (``last_out``). Reads nothing."""
    if case.closed_at is not None:
        return Turn(None, case.closed_at)
    if case.vendor_notified_at is None:
        return Turn(OURS, case.found_at)
    answered = last_out is not None and last_out >= (last_in or last_out)
    if last_in is not None and not answered and last_in >= case.vendor_notified_at:
        return Turn(OURS, last_in)
    if case.secured_at is None:
        times = [case.vendor_notified_at, case.vendor_acknowledged_at, last_out]
        return Turn(VENDOR, max(t for t in times if t is not None))
    times = [case.secured_at, case.data_deleted_at, case.published_at, last_in]
    return Turn(OURS, max(t for t in times if t is not None))


def whose_turn(case: Case) -> Turn:
    """Whose turn it is on ``case`` and since when (one query)."""
    latest = _latest([case.pk])
    return turn_from(
        case, latest.get((case.pk, Direction.INBOUND)), latest.get((case.pk, Direction.OUTBOUND))
    )


def turns_for(cases: Iterable[Case]) -> dict[int, Turn]:
    """Case id -> its turn, for many cases in one query."""
    cases = list(cases)
    latest = _latest([c.pk for c in cases]) if cases else {}
    return {
        c.pk: turn_from(
            c, latest.get((c.pk, Direction.INBOUND)), latest.get((c.pk, Direction.OUTBOUND))
        )
        for c in cases
    }
