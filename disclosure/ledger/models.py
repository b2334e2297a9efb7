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
    DISPUTE_ANSWERED = "dispute_answered", "Dispute answered"
    DISPUTE_SETTLED = "dispute_settled", "Dispute settled"
    CORRECTION = "correction", "Correction"
    LEGAL_HOLD_CHANGED = "legal_hold_changed", "Legal hold changed"
    DETAILS_UPDATED = "details_updated", "Details updated"
    FOLLOW_UP_OPENED = "follow_up_opened", "Follow-up case opened"
    ESCALATED = "escalated", "Escalated"
    INTERNAL_DETAILS = "internal_details", "Internal details recorded"
    NOTE_ADDED = "note_added", "Internal note"
    EVIDENCE_SHARED = "evidence_shared", "Evidence shared with the vendor"
    # A policy's terms changed for a case that runs under it (cases.terms).
    POLICY_TERMS_CHANGED = "policy_terms_changed", "Policy terms changed"
    # Internal (never vendor-visible): who asked for a legal export, who downloaded it.
    EXPORT_REQUESTED = "export_requested", "Export requested"
    EXPORT_DOWNLOADED = "export_downloaded", "Export downloaded"
    # Internal: who took an evidence file out of the tracker, and how.
    EVIDENCE_DOWNLOADED = "evidence_downloaded", "Evidence downloaded"
    # Internal: a stored evidence file no longer hashes to its SHA-256 (or is
    # gone), and later found intact again (evidence.integrity).
    EVIDENCE_INTEGRITY_FAILED = "evidence_integrity_failed", "Evidence integrity alarm"
    EVIDENCE_INTEGRITY_RESTORED = "evidence_integrity_restored", "Evidence integrity restored"
    # Watchers (deadlines, re-probes, retention): written by the system account.
    DEADLINE_REMINDER = "deadline_reminder", "Deadline reminder"
    DEADLINE_MISSED = "deadline_missed", "Deadline missed"
    VENDOR_UNRESPONSIVE = "vendor_unresponsive", "Vendor unresponsive"
    PROBE_SETTINGS_CHANGED = "probe_settings_changed", "Re-probe settings changed"
    PROBE_STATUS_CHANGED = "probe_status_changed", "Re-probe status changed"
    REEXPOSURE_DETECTED = "reexposure_detected", "Re-exposure detected"
    RETENTION_CHANGED = "retention_changed", "Retention period changed"
    EVIDENCE_PURGED = "evidence_purged", "Evidence content purged"
    # Affected entities: imports, groupings, count claims, lookups, telling organizations.
    AFFECTED_IMPORTED = "affected_imported", "Affected records imported"
    ORGANIZATIONS_GROUPED = "organizations_grouped", "Organizations grouped"
    COUNT_CLAIM_FILED = "count_claim_filed", "Count claim filed"
    AFFECTED_LOOKUP = "affected_lookup", "Affected lookup"
    ORGANIZATION_TOLD = "organization_told", "Affected organization told"
    AFFECTED_SETTINGS_CHANGED = "affected_settings_changed", "Affected-list settings changed"


# The format of the hashed body (``v`` in it); verify_ledger refuses others.
FORMAT_VERSION = 1


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
    # Format version of the hashed body.
    v = models.PositiveSmallIntegerField(default=FORMAT_VERSION)
    # SHA-256 of the case's ledger state (cases.state) after this event:
    # a service refuses to build on a case row that no longer matches it.
    state = models.CharField(max_length=64)
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


class Checkpoint(models.Model):
    """A signed statement of every case's chain head at one moment.

    ``entries`` lists ``[reference, seq, head]`` for every case, sorted by
    reference; ``root`` is their Merkle root (RFC 9162). Each checkpoint
    chains to the previous one through ``prev_hash`` and is signed with the
    deployment's Ed25519 key. Append-only (a PostgreSQL trigger refuses
    UPDATE and DELETE), and also written as a file to the anchor directory.
    """

    seq = models.PositiveIntegerField(unique=True)
    created_at = models.DateTimeField()
    case_count = models.PositiveIntegerField()
    event_count = models.PositiveBigIntegerField()
    root = models.CharField(max_length=64)
    prev_hash = models.CharField(max_length=64)
    entries = models.JSONField()
    public_key = models.CharField(max_length=64, help_text="Ed25519 public key, hex.")
    signature = models.CharField(max_length=128)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"checkpoint #{self.seq} ({self.case_count} cases, root {self.root[:12]})"


class CheckpointTimestamp(models.Model):
    """An RFC 3161 timestamp token over a checkpoint's hash (trusted time).

    ``token`` is the DER of the TimeStampToken (a CMS ContentInfo with
    SignedData over a TSTInfo) whose messageImprint is SHA-256 with
    hashedMessage = the 32 bytes of ``checkpoint.hash`` (hex-decoded). A
    separate row because checkpoints are append-only: the token often comes
    later (the TSA was down, the beat task retried). At most one per
    checkpoint; append-only as well. ``gen_time`` repeats the token's time
    for listing; the verifier reads it from the token.
    """

    checkpoint = models.OneToOneField(
        Checkpoint, on_delete=models.PROTECT, related_name="timestamp"
    )
    token = models.BinaryField()
    gen_time = models.DateTimeField()
    tsa_url = models.CharField(max_length=500)
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["checkpoint__seq"]

    def __str__(self) -> str:
        return f"timestamp of checkpoint #{self.checkpoint.seq} at {self.gen_time:%Y-%m-%d %H:%M}"
