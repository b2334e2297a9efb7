"""Disputes: a claim the vendor contests, with both positions and provenance."""

from django.conf import settings
from django.db import models


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

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

    class Meta:
        ordering = ["filed_at", "id"]

    def __str__(self) -> str:
        return f"{self.case.reference}: {self.subject}"
