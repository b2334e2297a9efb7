"""CaseEvent: the append-only, hash-chained log of everything done to a case.

Rows are written only by ``ledger.services.append_event``. On PostgreSQL a
trigger (migration 0002) rejects UPDATE and DELETE on the table.
"""

from django.conf import settings
from django.db import models


class EventKind(models.TextChoices):
    CASE_OPENED = "case_opened", "Case opened"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    VENDOR_ACKNOWLEDGED = "vendor_acknowledged", "Vendor acknowledged"
    COMMUNICATION_LOGGED = "communication_logged", "Communication logged"
    EVIDENCE_ATTACHED = "evidence_attached", "Evidence attached"
    DELETION_ATTESTED = "deletion_attested", "Deletion attested"
    ATTESTATION_COUNTERSIGNED = "attestation_countersigned", "Attestation countersigned"
    OVERRIDE_GRANTED = "override_granted", "Override granted"
    DISPUTE_FILED = "dispute_filed", "Dispute filed"
    CORRECTION = "correction", "Correction"
    LEGAL_HOLD_CHANGED = "legal_hold_changed", "Legal hold changed"
    DETAILS_UPDATED = "details_updated", "Details updated"
    FOLLOW_UP_OPENED = "follow_up_opened", "Follow-up case opened"
    ESCALATED = "escalated", "Escalated"


class CaseEvent(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=True,
    )
    # Frozen at write time and covered by the hash: renaming a user later
    # does not rewrite history.
    actor_snapshot = models.JSONField()
    payload = models.JSONField(default=dict)
    # Internal events (notes, internal communications) are never shown to vendors.
    internal = models.BooleanField(default=False)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["case_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["case", "seq"], name="caseevent_unique_case_seq"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="caseevent_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind}"
