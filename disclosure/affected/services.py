"""Writes of disputes."""

from disclosure.cases.guards import locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .models import Dispute


def file_dispute(
    *,
    actor,
    case: Case,
    subject: str,
    firm_position: str,
    firm_provenance: str,
    vendor_position: str,
    vendor_provenance: str,
) -> Dispute:
    """Record a disputed claim with both positions and where each comes from.

    Every field is required: a dispute without both sides is not a record.
    """
    values = {
        "subject": subject,
        "firm_position": firm_position,
        "firm_provenance": firm_provenance,
        "vendor_position": vendor_position,
        "vendor_provenance": vendor_provenance,
    }
    cleaned = {k: (v or "").strip() for k, v in values.items()}
    for name, value in cleaned.items():
        if not value:
            raise ValidationFailed(f"A dispute needs its {name.replace('_', ' ')}.", field=name)
        limit = Dispute._meta.get_field(name).max_length
        if limit is not None and len(value) > limit:
            raise ValidationFailed(
                f"The {name.replace('_', ' ')} is longer than {limit} characters.", field=name
            )
    with locked_case(case, actor=actor, action="file_dispute") as locked:
        dispute = Dispute.objects.create(case=locked, filed_by=actor, filed_at=now(), **cleaned)
        append_event(
            case=locked,
            kind=EventKind.DISPUTE_FILED,
            actor=actor,
            occurred_at=dispute.filed_at,
            payload={"dispute_id": dispute.pk, **cleaned},
        )
        return dispute
