"""Corrections: an earlier event is never changed; a new event corrects it."""

from datetime import UTC, datetime
from typing import Any

from disclosure.accounts.models import User
from disclosure.affected.models import Dispute
from disclosure.comms.models import Communication
from disclosure.core.errors import InvalidTimestamp, ValidationFailed
from disclosure.core.validation import clean_text, validated
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.services import append_event

from ..guards import check_occurred_at, locked_case
from ..models import Case, Escalation
from ..stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage


@validated
def correct_event(
    *,
    actor: User,
    case: Case,
    seq: int,
    reason: str,
    occurred_at: datetime | None = None,
    statement: str = "",
) -> CaseEvent:
    """Append a correction of event ``seq``; the original is never changed.

    A correction states a reason and either a corrected time (for a stage or
    acknowledgement event) or a statement of what was wrong. A corrected time
    is not in the future and keeps every rule the original obeyed: after the
    milestones recorded before it and before those recorded after it, not
    after what depends on it (communications and disputes on the discovery,
    the acknowledgement and escalations on the notification, follow-up cases
    on securing), and a discovery stays in the year its reference names.
    It updates the case's time. Returns the correction event, internal when
    the event it corrects is.
    """
    with locked_case(case, actor=actor, action="correct_event") as locked:
        reason = clean_text(
            reason, field="reason", required=True, message="A correction needs a reason."
        )
        statement = clean_text(statement, field="statement")
        if occurred_at is None and not statement:
            raise ValidationFailed(
                "Give the corrected time or a statement of what was wrong.", field="statement"
            )
        original = CaseEvent.objects.filter(case=locked, seq=seq).first()
        if original is None:
            raise ValidationFailed(f"{locked.reference} has no event #{seq}.", field="seq")
        payload: dict[str, Any] = {
            "corrects_seq": original.seq,
            "corrects_hash": original.hash,
            "reason": reason,
            "statement": statement,
        }
        if occurred_at is not None:
            field = _corrected_time_field(original)
            _check_corrected_time(locked, field, occurred_at)
            payload["occurred_at"] = {
                "field": field,
                "from": getattr(locked, field),
                "to": occurred_at,
            }
            setattr(locked, field, occurred_at)
            locked.save(update_fields=[field, "updated_at"])
        return append_event(
            case=locked,
            kind=EventKind.CORRECTION,
            actor=actor,
            payload=payload,
            internal=original.internal,
        )


def _stage_of_event(event: CaseEvent) -> Stage | None:
    if event.kind == EventKind.CASE_OPENED:
        return Stage.FOUND
    if event.kind == EventKind.STAGE_CHANGED:
        return Stage(event.payload["milestone"])
    return None


def _corrected_time_field(event: CaseEvent) -> str:
    stage = _stage_of_event(event)
    if stage is not None:
        return STAGE_TIME_FIELD[stage]
    if event.kind == EventKind.VENDOR_ACKNOWLEDGED:
        return "vendor_acknowledged_at"
    raise ValidationFailed(
        "Only the time of a stage or of the acknowledgement can be corrected; "
        "correct other events with a statement.",
        field="occurred_at",
    )


def _recorded_order(case: Case) -> dict[str, int]:
    """The seq at which each milestone's time field was recorded."""
    order: dict[str, int] = {}
    events = CaseEvent.objects.filter(
        case=case, kind__in=[EventKind.CASE_OPENED, EventKind.STAGE_CHANGED]
    ).values_list("seq", "kind", "payload")
    for seq, kind, payload in events:
        stage = Stage.FOUND if kind == EventKind.CASE_OPENED else Stage(payload["milestone"])
        order[STAGE_TIME_FIELD[stage]] = seq
    return order


def _earliest(rows, column: str) -> datetime | None:
    return rows.order_by(column).values_list(column, flat=True).first()


Bound = tuple[datetime, str]  # a time and what happened then


def _bounds(case: Case, field: str) -> tuple[list[Bound], list[Bound]]:
    """(lower, upper) bounds of ``field``, each a list of (time, what it is)."""
    lower: list[tuple[datetime | None, str]] = []
    upper: list[tuple[datetime | None, str]] = []
    if field == "vendor_acknowledged_at":
        lower.append((case.vendor_notified_at, "the vendor was notified"))
    else:
        # A milestone recorded before another in the main path stays before
        # it; one recorded late (after a later stage) is bound only by what
        # was recorded before it, as when it was recorded.
        order = _recorded_order(case)
        fields = [STAGE_TIME_FIELD[s] for s in STAGE_ORDER]
        i = fields.index(field)
        for other in fields[:i]:
            if other in order and order[other] < order[field]:
                lower.append((getattr(case, other), f"the {other[:-3].replace('_', ' ')} time"))
        for other in fields[i + 1 :]:
            if other in order and order[field] < order[other]:
                upper.append((getattr(case, other), f"the {other[:-3].replace('_', ' ')} time"))
    if field == "found_at":
        upper.append((_earliest(Communication.objects.filter(case=case), "occurred_at"),
                      "the first communication"))  # fmt: skip
        upper.append((_earliest(Dispute.objects.filter(case=case), "filed_at"), "a dispute"))
    if field == "vendor_notified_at":
        upper.append((case.vendor_acknowledged_at, "the vendor acknowledged"))
        upper.append((_earliest(Escalation.objects.filter(case=case), "escalated_at"),
                      "the first escalation"))  # fmt: skip
    if field == "secured_at":
        upper.append((_earliest(Case.objects.filter(follows_up=case), "found_at"),
                      "a follow-up case was found"))  # fmt: skip
    return [b for b in lower if b[0] is not None], [b for b in upper if b[0] is not None]


def _check_corrected_time(case: Case, field: str, value: datetime) -> None:
    lower, upper = _bounds(case, field)
    latest = max(lower, default=None, key=lambda b: b[0])
    check_occurred_at(
        value,
        not_before=latest[0] if latest else None,
        what="the corrected time",
        since=latest[1] if latest else "",
    )
    earliest = min(upper, default=None, key=lambda b: b[0])
    if earliest is not None and value > earliest[0]:
        raise InvalidTimestamp(
            f"The corrected time cannot be after {earliest[0].isoformat()} ({earliest[1]}).",
            field="occurred_at",
        )
    if field == "found_at":
        year = int(case.reference.rsplit("-", 2)[-2])
        if value.astimezone(UTC).year != year:
            raise InvalidTimestamp(
                f"{case.reference} carries the year {year} of its discovery; a discovery in "
                f"{value.astimezone(UTC).year} contradicts its reference. If the exposure was "
                "found in another year, close this case as invalid and open a new one.",
                field="occurred_at",
            )
