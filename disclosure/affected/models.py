"""Disputes: a claim the vendor contests, with both positions and provenance;
the firm's answer, and how a lead settled it."""

from django.conf import settings
from django.db import models


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"  # before settlements had outcomes
        ACCEPTED = "accepted", "Settled: accepted"
        REJECTED = "rejected", "Settled: rejected"
        WITHDRAWN = "withdrawn", "Settled: withdrawn"
        SUPERSEDED = "superseded", "Settled: superseded"

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="disputes")
    subject = models.CharField(max_length=300, help_text="What is disputed.")
    firm_position = models.TextField()
    firm_provenance = models.TextField(help_text="Where the firm's position comes from.")
    vendor_position = models.TextField()
    vendor_provenance = models.TextField(help_text="Where the vendor's position comes from.")
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    filed_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    # The firm's answer (staff), once, while open.
    answer = models.TextField(blank=True, default="")
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    # The settlement (a lead): the outcome is the status, the reason why.
    settlement_reason = models.TextField(blank=True, default="")
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    settled_at = models.DateTimeField(null=True, blank=True)

    # The services re-read the row under the case's lock (NotFound when gone).
    existence_checked_under_lock = True

    class Meta:
        ordering = ["filed_at", "id"]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status == Dispute.Status.OPEN


# The outcomes a lead may settle a dispute with.
OUTCOMES = (
    Dispute.Status.ACCEPTED,
    Dispute.Status.REJECTED,
    Dispute.Status.WITHDRAWN,
    Dispute.Status.SUPERSEDED,
)
