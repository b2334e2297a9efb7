"""Evidence files (content-addressed) and deletion attestations."""

from django.conf import settings
from django.db import models


class EvidenceKind(models.TextChoices):
    EXPOSURE_CAPTURE = "exposure_capture", "Exposure capture"
    SCREENSHOT = "screenshot", "Screenshot"
    RETEST_RESULT = "retest_result", "Re-test result"
    NOTICE = "notice", "Notice sent"
    VENDOR_CONFIRMATION = "vendor_confirmation", "Vendor confirmation"
    DELETION_LOG = "deletion_log", "Deletion log"
    PUBLICATION = "publication", "Publication"
    ATTACHMENT = "attachment", "Communication attachment"
    RAW_MESSAGE = "raw_message", "E-mail message as sent or received"
    OTHER = "other", "Other"


EXPOSURE_KINDS = frozenset({EvidenceKind.EXPOSURE_CAPTURE, EvidenceKind.SCREENSHOT})

# Whether the vendor sees a file is the uploader's choice, made on every
# upload form and in the API (``IncomingFile.shared``). Unless they choose,
# files are shared with the vendor (from notification on) except those of
# these kinds, which stay internal: an unclassified file is the firm's own
# until someone decides to share it. Attachments of internal notes are
# always internal.
INTERNAL_BY_DEFAULT = frozenset({EvidenceKind.OTHER})


def shared_by_default(kind: str) -> bool:
    """Whether a file of ``kind`` is shared with the vendor unless the
    uploader chooses otherwise."""
    return kind not in INTERNAL_BY_DEFAULT


def visibility_default_text(kind: str | None = None) -> str:
    """The default, as the upload forms and the API schema state it."""
    if kind is not None:
        label = EvidenceKind(kind).label if kind in EvidenceKind.values else kind
        where = "shared with the vendor" if shared_by_default(kind) else "internal (firm only)"
        return f"Default for {label}: {where}."
    internal = ", ".join(EvidenceKind(k).label for k in sorted(INTERNAL_BY_DEFAULT))
    return f"Default: shared with the vendor, except files of kind {internal} (internal)."


class EvidenceFile(models.Model):
    """A file attached to a case, stored once under its SHA-256.

    ``sha256``, ``size`` and ``content_type`` are computed by the server while
    the upload streams in; the client's name is kept for display only.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="evidence")
    sha256 = models.CharField(max_length=64, db_index=True)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=150)
    original_name = models.CharField(max_length=255)
    kind = models.CharField(max_length=30, choices=EvidenceKind.choices)
    description = models.TextField(blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    captured_at = models.DateTimeField(
        null=True, blank=True, help_text="When the content was captured, if known."
    )
    # Hidden from the vendor: the uploader's choice (``shared_by_default``
    # when they make none), and always for attachments of internal notes.
    # (True: never shown to the vendor; False: shared, in the portal and the
    # vendor variant of the export.)
    internal = models.BooleanField(default=False)
    # When the content was deleted under the retention rule
    # (evidence.retention): the row (hash, size, name) stays, the blob goes
    # once no unpurged row needs it; the ``evidence_purged`` event vouches
    # for it.
    purged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "sha256"], name="evidence_unique_case_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.sha256[:12]})"

    @property
    def storage_name(self) -> str:
        from .storage import blob_name

        return blob_name(self.sha256)

    def manifest_entry(self) -> dict:
        """How the ledger and exports refer to the file: by hash, never content."""
        return {
            "evidence_id": self.pk,
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "name": self.original_name,
            "kind": self.kind,
            "captured_at": self.captured_at,
        }


class DeletionMethod(models.TextChoices):
    # NIST SP 800-88 sanitisation levels, plus deletion through a cloud API.
    CLEAR = "clear", "Clear"
    PURGE = "purge", "Purge"
    DESTROY = "destroy", "Destroy"
    CLOUD_DELETION = "cloud_deletion", "Cloud deletion"


class DeletionAttestation(models.Model):
    """What the firm destroyed, how, and who checked it. One per case."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="deletion_attestation"
    )
    # [{"path": "...", "bytes": 123, "sha256": "..."}]
    items = models.JSONField()
    total_bytes = models.PositiveBigIntegerField()
    method = models.CharField(max_length=20, choices=DeletionMethod.choices)
    tool = models.CharField(max_length=200)
    performed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    performed_at = models.DateTimeField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    verification = models.TextField(help_text="How the deletion was verified.")
    retained_metadata = models.JSONField(default=list, blank=True)
    retention_reason = models.TextField(blank=True)
    evidence = models.ManyToManyField(EvidenceFile, blank=True, related_name="attestations")
    content_sha256 = models.CharField(max_length=64)
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)
    countersignature_statement = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Deletion attestation for {self.case.reference}"

    def content(self) -> dict:
        """What the attestation states, as hashed into ``content_sha256`` and
        the ledger (the countersignature, added later, is not part of it)."""
        return {
            "case": self.case.reference,
            "items": self.items,
            "total_bytes": self.total_bytes,
            "method": self.method,
            "tool": self.tool,
            "performed_by": self.performed_by_id,
            "performed_at": self.performed_at,
            "verified_by": self.verified_by_id,
            "verification": self.verification,
            "retained_metadata": self.retained_metadata,
            "retention_reason": self.retention_reason,
            "evidence": sorted(e.sha256 for e in self.evidence.all()),
        }

    def content_digest(self) -> str:
        from disclosure.core.canonical import canonical_json
        from disclosure.core.hashing import sha256_hex

        return sha256_hex(canonical_json(self.content()))


class IntegrityAlarm(models.Model):
    """A stored evidence file whose bytes no longer hash to its recorded
    SHA-256 (or that is gone), found by a download or the routine check
    (evidence.integrity). Open until a later check finds the bytes intact
    again; the ledger records both moments (``evidence_integrity_failed``,
    ``evidence_integrity_restored``). At most one open alarm per file."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    evidence = models.ForeignKey(
        EvidenceFile, on_delete=models.PROTECT, related_name="integrity_alarms"
    )
    # The SHA-256 the bytes had when read, blank when the file was missing.
    found_sha256 = models.CharField(max_length=64, blank=True)
    detected_at = models.DateTimeField()
    detected_by = models.CharField(max_length=40, help_text="download:<interface> or check.")
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["detected_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["evidence"],
                condition=models.Q(resolved_at__isnull=True),
                name="integrityalarm_one_open_per_evidence",
            ),
        ]

    def __str__(self) -> str:
        return f"Integrity alarm on evidence {self.evidence_id} ({self.detected_at:%Y-%m-%d})"

    @property
    def missing(self) -> bool:
        return not self.found_sha256
