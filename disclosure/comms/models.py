"""The communication log of a case: every message to, from or about the vendor."""

from django.conf import settings
from django.db import models


class Direction(models.TextChoices):
    OUTBOUND = "outbound", "Outbound (to the vendor)"
    INBOUND = "inbound", "Inbound (from the vendor)"
    INTERNAL = "internal", "Internal note"


class Channel(models.TextChoices):
    EMAIL = "email", "E-mail"
    PORTAL = "portal", "Vendor portal"
    WEB_FORM = "web_form", "Web form"
    PHONE = "phone", "Phone"
    LETTER = "letter", "Letter"
    THIRD_PARTY = "third_party", "Through a third party (CERT, provider)"
    OTHER = "other", "Other"


class Communication(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="communications")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    channel = models.CharField(max_length=20, choices=Channel.choices)
    sender = models.CharField(max_length=320)
    recipients = models.JSONField(default=list)
    subject = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    body_sha256 = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    logged_at = models.DateTimeField(auto_now_add=True)
    attachments = models.ManyToManyField(
        "evidence.EvidenceFile", blank=True, related_name="communications"
    )

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["case", "occurred_at"])]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.occurred_at:%Y-%m-%d}: {self.subject}"

    @property
    def is_internal(self) -> bool:
        return self.direction == Direction.INTERNAL
