"""Scanner findings: what a scanner reported, keyed on (source, external id),
and the case it opened."""

from django.conf import settings
from django.db import models


class Finding(models.Model):
    """One exposure as a scanner reported it. A repeat of the same (source,
    external id) is the same finding: it counts the submission and adds new
    evidence to the same case, never a second case."""

    source = models.CharField(max_length=100, help_text="The scanner or tool that reported it.")
    external_id = models.CharField(max_length=200, help_text="The finding's id in that tool.")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="findings")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_submitted_at = models.DateTimeField()
    submissions = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="finding_unique_source_external_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"
