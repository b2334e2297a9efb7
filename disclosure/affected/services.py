"""Writes of disputes."""

from datetime import datetime

from disclosure.accounts.models import User
from disclosure.cases.guards import check_occurred_at, locked_case
from disclosure.cases.models import Case
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .models import Dispute


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
        return dispute
