"""Writes of disputes: filing one (both sides), the firm's answer, a
lead's settlement. Each writes its ledger event, vendor-visible."""

from datetime import datetime

from disclosure.accounts.models import User
from disclosure.cases.guards import check_occurred_at, locked_case
from disclosure.cases.models import Case
from disclosure.comms import notices
from disclosure.core.errors import NotFound, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import check_instance, clean_text, validated
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .models import OUTCOMES, Dispute


@validated
def file_dispute(
    *,
    actor: User,
    case: Case,
    subject: str,
    firm_position: str,
    firm_provenance: str,
    vendor_position: str,
    vendor_provenance: str,
    filed_at: datetime | None = None,
) -> Dispute:
    """Record a disputed claim with both positions and where each comes from.

    Every text is required: a dispute without both sides is not a record.
    ``filed_at`` (when the dispute arose; now by default) may be back-dated
    but not in the future nor before the case was found.
    """
    values = {
        "subject": subject,
        "firm_position": firm_position,
        "firm_provenance": firm_provenance,
        "vendor_position": vendor_position,
        "vendor_provenance": vendor_provenance,
    }
    with locked_case(case, actor=actor, action="file_dispute") as locked:
        cleaned = {
            name: clean_text(
                value,
                model=Dispute,
                field=name,
                required=True,
                message=f"A dispute needs its {name.replace('_', ' ')}.",
            )
            for name, value in values.items()
        }
        filed_at = check_occurred_at(
            filed_at or now(),
            not_before=locked.found_at,
            what="the dispute",
            since="the exposure was found",
        )
        dispute = Dispute.objects.create(case=locked, filed_by=actor, filed_at=filed_at, **cleaned)
        append_event(
            case=locked,
            kind=EventKind.DISPUTE_FILED,
            actor=actor,
            occurred_at=dispute.filed_at,
            payload={"dispute_id": dispute.pk, **cleaned, "record": record_ref(dispute)},
        )
        notices.dispute_recorded(locked, actor, "dispute_filed", _dispute_text(dispute))
        return dispute


def _dispute_text(dispute: Dispute) -> str:
    """A dispute as a notice quotes it."""
    return (
        f"{dispute.subject}\n\nFirm's position: {dispute.firm_position}\n\n"
        f"Vendor's position: {dispute.vendor_position}"
    )


def _open_dispute_of(locked: Case, dispute: Dispute | None) -> Dispute:
    """``dispute`` re-read under the case's lock: it must be one of the
    case's disputes (NotFound otherwise, never naming another case's) and
    still open (TransitionNotAllowed with how it was settled). None is
    refused here, after the table's checks (no open dispute, no choice)."""
    if dispute is None:
        raise ValidationFailed("Choose the dispute.", field="dispute")
    check_instance(dispute, Dispute, field="dispute")
    row = Dispute.objects.select_for_update().filter(pk=dispute.pk, case=locked).first()
    if row is None:
        raise NotFound(f"{locked.reference} has no such dispute.", field="dispute")
    if not row.is_open:
        raise TransitionNotAllowed(
            f"The dispute {row.subject!r} is settled already ({row.get_status_display().lower()})."
        )
    return row


@validated
def answer_dispute(
    *,
    actor: User,
    case: Case,
    dispute: Dispute | None,
    answer: str,
    answered_at: datetime | None = None,
) -> Dispute:
    """The firm's answer to an open dispute of ``case``: staff who work
    cases, once per dispute (a later change of position is a correction or
    the settlement). Written with a vendor-visible ``dispute_answered``
    event vouching for the dispute as it now is. ``answered_at`` (now by
    default) not in the future nor before the dispute was filed."""
    with locked_case(case, actor=actor, action="answer_dispute") as locked:
        row = _open_dispute_of(locked, dispute)
        if row.answered_at is not None:
            raise TransitionNotAllowed(
                f"The dispute {row.subject!r} was answered already, at "
                f"{row.answered_at.isoformat()}: settle it, or correct that event."
            )
        text = clean_text(
            answer, model=Dispute, field="answer", required=True,
            message="An answer needs the firm's position.",
        )  # fmt: skip
        at = check_occurred_at(
            answered_at or now(), not_before=row.filed_at, what="the answer",
            since="the dispute was filed",
        )  # fmt: skip
        row.answer, row.answered_by, row.answered_at = text, actor, at
        row.save(update_fields=["answer", "answered_by", "answered_at"])
        append_event(
            case=locked,
            kind=EventKind.DISPUTE_ANSWERED,
            actor=actor,
            occurred_at=at,
            payload={
                "dispute_id": row.pk,
                "subject": row.subject,
                "answer": text,
                "record": record_ref(row),
            },
        )
        notices.staff_shared(locked, actor, "dispute_answered", f"{row.subject}\n\n{text}")
        return row


@validated
def settle_dispute(
    *,
    actor: User,
    case: Case,
    dispute: Dispute | None,
    outcome: str,
    reason: str,
    settled_at: datetime | None = None,
) -> Dispute:
    """Settle an open dispute of ``case`` (leads and admins): accepted,
    rejected, withdrawn or superseded, with the reason. Once: a settled
    dispute stays settled (a new dispute reopens the question). Written with
    a vendor-visible ``dispute_settled`` event vouching for the dispute as it
    now is. ``settled_at`` (now by default) not in the future nor before the
    dispute was filed (or answered)."""
    with locked_case(case, actor=actor, action="settle_dispute") as locked:
        row = _open_dispute_of(locked, dispute)
        if outcome not in OUTCOMES:
            raise ValidationFailed(
                f"Unknown outcome {outcome!r}: use one of {', '.join(OUTCOMES)}.",
                field="outcome",
            )
        why = clean_text(
            reason, model=Dispute, field="settlement_reason", required=True,
            message="A settlement needs its reason.",
        )  # fmt: skip
        at = check_occurred_at(
            settled_at or now(), not_before=row.answered_at or row.filed_at,
            what="the settlement",
            since="the dispute was answered" if row.answered_at else "the dispute was filed",
        )  # fmt: skip
        row.status, row.settlement_reason = outcome, why
        row.settled_by, row.settled_at = actor, at
        row.save(update_fields=["status", "settlement_reason", "settled_by", "settled_at"])
        append_event(
            case=locked,
            kind=EventKind.DISPUTE_SETTLED,
            actor=actor,
            occurred_at=at,
            payload={
                "dispute_id": row.pk,
                "subject": row.subject,
                "outcome": outcome,
                "reason": why,
                "record": record_ref(row),
            },
        )
        notices.staff_shared(locked, actor, "dispute_settled", f"{row.subject}: {outcome}\n\n{why}")
        return row
