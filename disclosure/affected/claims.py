"""Count claims: each party's number at a level, by a method, at a time,
with a note, resting where it can on the computed count. A claim lives on
the case's open count dispute for that level (the existing Dispute model,
extended): the firm's and the vendor's side by side; a later claim by the
same party replaces its side on the row, and every claim stays in the
ledger as a vendor-visible ``count_claim_filed`` event."""

from datetime import datetime

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases.guards import check_occurred_at, locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import NotFound, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import check_instance, check_int, clean_text, validated
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .counting import basis
from .models import AffectedList, Dispute, Level

ACTION = "file_dispute"  # staff who work cases and the case's vendor contacts


@validated
def file_count_claim(
    *,
    actor: User,
    case: Case,
    level: str,
    count: int,
    method: str,
    note: str = "",
    claimed_at: datetime | None = None,
    dispute: Dispute | None = None,
) -> Dispute:
    """File the actor's party's count at ``level`` (firm for staff, vendor
    for the case's vendor contacts) with its method and note, on ``dispute``
    when given (an open dispute of the case about this count, or about no
    count yet: it becomes the level's count dispute), else on the level's
    open count dispute, opened when there is none. ``claimed_at`` (now by
    default) not in the future nor before the case was found."""
    with locked_case(case, actor=actor, action=ACTION) as locked:
        if level not in Level.values:
            raise ValidationFailed(
                f"Unknown level {level!r}: use one of {', '.join(Level.values)}.", field="level"
            )
        value = check_int(count, field="count", minimum=0)
        how = clean_text(
            method, field="method", required=True,
            message="Say how the number was counted.",
        )  # fmt: skip
        text = clean_text(note, field="note")
        at = check_occurred_at(claimed_at or now(), not_before=locked.found_at,
                               what="the claim", since="the exposure was found")  # fmt: skip
        party = "firm" if access.can(actor, access.Action.VIEW_INTERNAL, locked) else "vendor"
        counted = AffectedList.objects.filter(case=locked).first()
        rests_on = basis(counted, level) if counted else None
        if dispute is not None:
            check_instance(dispute, Dispute, field="dispute")
            dispute = Dispute.objects.select_for_update().filter(pk=dispute.pk, case=locked).first()
            if dispute is None:
                raise NotFound(f"{locked.reference} has no such dispute.", field="dispute")
            if not dispute.is_open or dispute.count_level not in ("", level):
                raise TransitionNotAllowed(
                    f"The dispute {dispute.subject!r} is not open for a count of {level}."
                )
            dispute.count_level = level
        else:
            dispute = (
                Dispute.objects.select_for_update()
                .filter(case=locked, count_level=level, status=Dispute.Status.OPEN)
                .first()
            )
        if dispute is None:
            dispute = Dispute(
                case=locked, subject=f"Count: {Level(level).label.lower()}", filed_by=actor,
                filed_at=at, count_level=level, firm_provenance="", vendor_provenance="",
                firm_position="", vendor_position="",
            )  # fmt: skip
        setattr(dispute, f"{party}_count", value)
        setattr(dispute, f"{party}_count_method", how)
        setattr(dispute, f"{party}_count_at", at)
        setattr(dispute, f"{party}_count_basis", rests_on)
        if not getattr(dispute, f"{party}_position"):  # a filed position stays as filed
            setattr(dispute, f"{party}_position", text)
            setattr(dispute, f"{party}_provenance", how)
        dispute.save()
        append_event(
            case=locked,
            kind=EventKind.COUNT_CLAIM_FILED,
            actor=actor,
            occurred_at=at,
            payload={
                "dispute_id": dispute.pk, "party": party, "level": level, "count": value,
                "method": how, "note": text, "basis": rests_on, "record": record_ref(dispute),
            },
        )  # fmt: skip
        return dispute
