"""Export: one request for a legal timeline of a case, and the file it produced.

Rows are written only by ``exports.services``: a request creates the row
(queued) with its ledger event; the render task moves it to running, then
done (with the file's SHA-256 and size) or failed (with the reason).
"""

from django.conf import settings
from django.db import models


class ExportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Rendering"
    DONE = "done", "Ready"
    FAILED = "failed", "Failed"


class ExportFormat(models.TextChoices):
    PDF = "pdf", "PDF (PDF/A-3b, JSON attached)"
    JSON = "json", "JSON"


class ExportVariant(models.TextChoices):
    FULL = "full", "Full (internal: everything)"
    VENDOR = "vendor", "Vendor-visible only"


class CommunicationsMode(models.TextChoices):
    FULL = "full", "Full text"
    EXCERPT = "excerpt", "Excerpts"


class Export(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField()
    # The options.
    format = models.CharField(max_length=10, choices=ExportFormat.choices)
    variant = models.CharField(max_length=10, choices=ExportVariant.choices)
    communications = models.CharField(max_length=10, choices=CommunicationsMode.choices)
    # The ledger event that recorded the request.
    request_seq = models.PositiveIntegerField()
    # Progress of the render.
    status = models.CharField(
        max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    # What the render produced.
    generated_at = models.DateTimeField(null=True, blank=True)
    chain_seq = models.PositiveIntegerField(null=True, blank=True)
    chain_head = models.CharField(max_length=64, blank=True)
    file_name = models.CharField(max_length=300, blank=True, help_text="In private storage.")
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    signed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["case", "-requested_at"])]

    def __str__(self) -> str:
        return f"{self.case.reference} export #{self.pk} ({self.format}, {self.variant})"

    @property
    def download_name(self) -> str:
        """The file name a download is offered under."""
        suffix = "" if self.variant == ExportVariant.FULL else "-vendor"
        return f"{self.case.reference}-timeline-{self.pk}{suffix}.{self.format}"

    @property
    def is_ready(self) -> bool:
        return self.status == ExportStatus.DONE and bool(self.file_name)
