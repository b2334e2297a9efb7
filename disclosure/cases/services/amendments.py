"""Changes that are not stage transitions: details, legal hold, corrections,
and the follow-up case for a re-exposure."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from disclosure.core.errors import InvalidTimestamp, ValidationFailed
from disclosure.core.validation import clean_text
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.services import append_event

from ..details import clean_details, details_payload
from ..guards import check_occurred_at, locked_case
from ..models import Case, Escalation
from ..stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage
from .opening import open_case


def update_details(*, actor, case: Case, changes: dict[str, Any]) -> Case:
    """Change descriptive fields of an open case; record old and new values.

    No event is written when nothing changes. The vendor cannot change once
    the vendor has been notified.
    """
    with locked_case(case, actor=actor, action="update_details") as locked:
        cleaned = clean_details(changes, current=locked)
        if (
            "vendor" in cleaned
            and cleaned["vendor"].pk != locked.vendor_id
            and locked.vendor_notified_at is not None
        ):
            raise ValidationFailed(
                "The vendor cannot change after it has been notified.", field="vendor"
            )
        before = details_payload(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        after = details_payload(locked)
        diff = {k: {"from": before[k], "to": after[k]} for k in cleaned if before[k] != after[k]}
        if diff:
            locked.save(update_fields=[*cleaned, "updated_at"])
            append_event(
                case=locked,
                kind=EventKind.DETAILS_UPDATED,
                actor=actor,
                payload={"changes": diff},
                internal=True,  # assignee, severity and the like are the firm's business
            )
        return locked


def set_legal_hold(*, actor, case: Case, on: bool, reason: str) -> Case:
    """Place or lift a legal hold (it blocks closing and purging). The event
    is internal: vendors do not see legal holds."""
    with locked_case(case, actor=actor, action="set_legal_hold") as locked:
        reason = clean_text(
            reason,
            field="reason",
            required=True,
            message="Say why the legal hold is placed or lifted.",
        )
        if locked.legal_hold == on:
            raise ValidationFailed(
                f"{locked.reference} is {'already' if on else 'not'} under legal hold.", field="on"
            )
        locked.legal_hold = on
        locked.save(update_fields=["legal_hold", "updated_at"])
        append_event(
            case=locked,
            kind=EventKind.LEGAL_HOLD_CHANGED,
            actor=actor,
            payload={"legal_hold": on, "reason": reason},
            internal=True,
        )
        return locked


def _stage_of_event(event: CaseEvent) -> Stage | None:
    if event.kind == EventKind.CASE_OPENED:
        return Stage.FOUND
    if event.kind == EventKind.STAGE_CHANGED:
        return Stage(event.payload["milestone"])
    return None


def correct_event(
    *,
    actor,
    case: Case,
    seq: int,
    reason: str,
    occurred_at: datetime | None = None,
    statement: str = "",
) -> CaseEvent:
    """Append a correction of event ``seq``; the original is never changed.

    A correction states a reason and either a corrected time (for a stage or
    acknowledgement event; it must keep the stages in order and not be in the
    future, and it updates the case's timestamp) or a statement of what was
    wrong. Returns the correction event, internal when the event it corrects is.
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
            lower, upper = _time_bounds(locked, field)
            check_occurred_at(occurred_at, not_before=lower, what="the corrected time")
            if upper is not None and occurred_at > upper:
                raise InvalidTimestamp(
                    f"The corrected time cannot be after the next stage ({upper.isoformat()}).",
                    field="occurred_at",
                )
            payload["occurred_at"] = {"from": getattr(locked, field), "to": occurred_at}
            setattr(locked, field, occurred_at)
            locked.save(update_fields=[field, "updated_at"])
        return append_event(
            case=locked,
            kind=EventKind.CORRECTION,
            actor=actor,
            payload=payload,
            internal=original.internal,
        )


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


def _time_bounds(case: Case, field: str) -> tuple[datetime | None, datetime | None]:
    """The earliest and latest times ``field`` may take: after the stages
    before it and before the ones after it (a milestone recorded late, after
    a later stage, keeps only its lower bound)."""
    if field == "vendor_acknowledged_at":
        return case.vendor_notified_at, None
    fields = [STAGE_TIME_FIELD[s] for s in STAGE_ORDER]
    i = fields.index(field)
    current = getattr(case, field)
    earlier = [getattr(case, f) for f in fields[:i]]
    later = [getattr(case, f) for f in fields[i + 1 :]]
    lower = max((t for t in earlier if t is not None), default=None)
    upper = min((t for t in later if t is not None and t >= current), default=None)
    if field == "vendor_notified_at" and case.vendor_acknowledged_at is not None:
        upper = min(t for t in (upper, case.vendor_acknowledged_at) if t is not None)
    return lower, upper


def open_follow_up(
    *,
    actor,
    case: Case,
    found_at: datetime,
    how_found: str,
    exposure_evidence: Sequence[IncomingFile],
    title: str | None = None,
    asset_identifier: str | None = None,
) -> Case:
    """Open a new case for a re-exposure of ``case``'s asset after it was
    secured, linked both ways: the new case ``follows_up`` the old one, and the
    old case's ledger records the new reference."""
    with locked_case(case, actor=actor, action="open_follow_up") as parent:
        check_occurred_at(found_at, not_before=parent.secured_at, what="the re-exposure")
        follow_up = open_case(
            actor=actor,
            vendor=parent.vendor,
            title=title or f"Re-exposure: {parent.title}",
            asset_provider=parent.asset_provider,
            asset_kind=parent.asset_kind,
            asset_identifier=asset_identifier or parent.asset_identifier,
            asset_region=parent.asset_region,
            how_found=how_found,
            found_at=found_at,
            exposure_evidence=exposure_evidence,
            follows_up=parent,
            data_categories=parent.data_categories,
            severity=parent.severity,
            tlp=parent.tlp,
            time_zone=parent.time_zone,
            policy=parent.policy,
        )
        append_event(
            case=parent,
            kind=EventKind.FOLLOW_UP_OPENED,
            actor=actor,
            occurred_at=found_at,
            payload={"follow_up": follow_up.reference},
        )
        return follow_up


def escalate(
    *,
    actor,
    case: Case,
    target: str,
    organization: str,
    reason: str,
    escalated_at: datetime,
    their_reference: str = "",
) -> Escalation:
    """Record that the case was taken to a CERT, the cloud provider or a
    regulator (from the vendor's notification on, not in the future). The
    event is internal: the vendor is not told through the ledger."""
    with locked_case(case, actor=actor, action="escalate") as locked:
        if target not in Escalation.Target.values:
            raise ValidationFailed(
                f"Unknown escalation target {target!r}: use one of "
                f"{', '.join(Escalation.Target.values)}.",
                field="target",
            )
        values = {
            "organization": clean_text(
                organization,
                model=Escalation,
                field="organization",
                required=True,
                message="Say to whom the case was escalated.",
            ),
            "their_reference": clean_text(
                their_reference, model=Escalation, field="their_reference"
            ),
            "reason": clean_text(
                reason,
                field="reason",
                required=True,
                message="Say why the case was escalated.",
            ),
        }
        check_occurred_at(
            escalated_at,
            not_before=locked.vendor_notified_at,
            what="the escalation",
            since="the vendor was notified",
        )
        escalation = Escalation.objects.create(
            case=locked, target=target, escalated_at=escalated_at, escalated_by=actor, **values
        )
        append_event(
            case=locked,
            kind=EventKind.ESCALATED,
            actor=actor,
            occurred_at=escalated_at,
            payload={"escalation_id": escalation.pk, "target": target, **values},
            internal=True,
        )
        return escalation
