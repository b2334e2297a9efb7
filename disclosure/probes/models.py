"""Re-probes of a case's exposed asset: the per-case schedule and each result.

A result is written once and never changed; its capture (a JSON file) is an
EvidenceFile of the case, so it is hashed and in the ledger. The schedule's
``status`` is the asset's last known exposure (public / not public); errors
(refusals, time-outs, unexpected answers) are results but do not change it.
"""

from django.conf import settings
from django.db import models


class Verdict(models.TextChoices):
    PUBLIC = "public", "Public"
    NOT_PUBLIC = "not_public", "No longer public"
    ERROR = "error", "Error"


class ProbeSchedule(models.Model):
    """How and when one case's asset is re-probed. Written only by
    ``probes.services``; ``status``/``last_*`` by the probe runs."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="probe_schedule"
    )
    paused = models.BooleanField(default=False)
    interval_hours = models.PositiveIntegerField()
    # An explicit probe URL; blank: derived from the case's asset (probes.urls).
    url = models.CharField(max_length=1000, blank=True, default="")
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    # The asset's last known exposure: "" (never probed), public or not_public.
    status = models.CharField(max_length=20, blank=True, default="", choices=Verdict.choices)
    status_since = models.DateTimeField(null=True, blank=True)
    # The result that set ``status`` (the first of its run): the capture the
    # 'no longer public' offer records 'secured' with.
    status_result = models.ForeignKey(
        "ProbeResult", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_result = models.ForeignKey(
        "ProbeResult", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The re-exposure alarm: the first 'public' result after 'secured',
    # until a follow-up case is opened from it.
    reexposure_result = models.ForeignKey(
        "ProbeResult", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    follow_up = models.ForeignKey(
        "cases.Case", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_run_at"],
                name="probe_due_idx",
                condition=models.Q(paused=False),
            )
        ]

    def __str__(self) -> str:
        return f"Re-probes of case {self.case_id}"


class ProbeResult(models.Model):
    """One fetch of the asset: when, what URL, which address answered, its
    status and selected headers, the SHA-256 of the body sample, the
    verdict, and the capture evidence file."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="probe_results")
    probed_at = models.DateTimeField()
    url = models.CharField(max_length=1000)
    address = models.CharField(max_length=64, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    headers = models.JSONField(default=list, blank=True)  # [[name, value], ...] (selected)
    redirects = models.JSONField(default=list, blank=True)
    sample_sha256 = models.CharField(max_length=64, blank=True)
    sample_bytes = models.PositiveIntegerField(default=0)
    truncated = models.BooleanField(default=False)
    elapsed_ms = models.PositiveIntegerField(default=0)
    verdict = models.CharField(max_length=20, choices=Verdict.choices)
    error = models.CharField(max_length=500, blank=True)
    evidence = models.ForeignKey(
        "evidence.EvidenceFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-probed_at", "-id"]
        indexes = [models.Index(fields=["case", "-probed_at", "-id"], name="probe_case_time_idx")]

    def __str__(self) -> str:
        return f"{self.url} at {self.probed_at:%Y-%m-%d %H:%M}: {self.verdict}"
