"""The case, its disclosure policy and the reference counter.

Stage and stage timestamps are written only by the services in
``services.py``, under a row lock, together with their ledger event.
"""

from django.conf import settings
from django.db import models
from django.urls import reverse

from disclosure.core.formatting import categories_text

from .stages import CloseReason, Stage


class DisclosurePolicy(models.Model):
    """Deadlines counted from ``vendor_notified.occurred_at``."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    days_to_acknowledge = models.PositiveIntegerField()
    days_to_secure = models.PositiveIntegerField()
    days_to_publish = models.PositiveIntegerField()
    grace_days = models.PositiveIntegerField(default=0)
    business_days = models.BooleanField(default=False)

    class Meta:
        verbose_name_plural = "disclosure policies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReferenceCounter(models.Model):
    """The last case number issued for a year (DSC-<year>-<number>)."""

    year = models.PositiveIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class AssetProvider(models.TextChoices):
    AZURE = "azure", "Microsoft Azure"
    AWS = "aws", "Amazon Web Services"
    GCP = "gcp", "Google Cloud"
    ALIBABA = "alibaba", "Alibaba Cloud"
    DIGITALOCEAN = "digitalocean", "DigitalOcean"
    SELF_HOSTED = "self_hosted", "Self-hosted"
    OTHER = "other", "Other"


class AssetKind(models.TextChoices):
    BLOB_CONTAINER = "blob_container", "Blob container"
    S3_BUCKET = "s3_bucket", "S3 bucket"
    GCS_BUCKET = "gcs_bucket", "Cloud Storage bucket"
    ELASTICSEARCH_INDEX = "elasticsearch_index", "Elasticsearch index"
    DATABASE = "database", "Database"
    FILE_SHARE = "file_share", "File share / FTP"
    API = "api", "API endpoint"
    OTHER = "other", "Other"


class DataCategory(models.TextChoices):
    """What an exposure holds. "other" needs ``Case.data_categories_other``
    saying what. BlueBleed's nine: PII (names), e-mail content, contracts,
    invoices, statements of work, proof-of-concept documents, product orders,
    phone numbers, intellectual property."""

    PII = "pii", "Personal data (PII)"
    EMAIL_CONTENT = "email_content", "E-mail content"
    EMAIL_ADDRESSES = "email_addresses", "E-mail addresses"
    PHONE_NUMBERS = "phone_numbers", "Phone numbers"
    CONTRACTS = "contracts", "Contracts and business documents"
    INVOICES = "invoices", "Invoices"
    STATEMENTS_OF_WORK = "statements_of_work", "Statements of work"
    PROOF_OF_CONCEPT = "proof_of_concept", "Proof-of-concept documents"
    PRODUCT_ORDERS = "product_orders", "Product orders and offers"
    INTELLECTUAL_PROPERTY = "intellectual_property", "Intellectual property"
    CREDENTIALS = "credentials", "Credentials and secrets"
    FINANCIAL = "financial", "Financial data"
    HEALTH = "health", "Health data"
    GOVERNMENT_ID = "government_id", "Government identifiers"
    SOURCE_CODE = "source_code", "Source code"
    LOGS = "logs", "Logs and telemetry"
    OTHER = "other", "Other (say what)"


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Tlp(models.TextChoices):
    CLEAR = "clear", "TLP:CLEAR"
    GREEN = "green", "TLP:GREEN"
    AMBER = "amber", "TLP:AMBER"
    AMBER_STRICT = "amber_strict", "TLP:AMBER+STRICT"
    RED = "red", "TLP:RED"


def choice_rank(field: str, choices: type[models.TextChoices]) -> models.Case:
    """The position of ``field``'s value in ``choices`` (0 for the first,
    ``len(choices)`` for anything else): never NULL. The case list sorts by
    it and the indexes below serve that sort, so both build it here."""
    return models.Case(
        *(models.When(**{field: v}, then=models.Value(i)) for i, v in enumerate(choices.values)),
        default=models.Value(len(choices.values)),
        output_field=models.IntegerField(),
    )


class Case(models.Model):
    reference = models.CharField(max_length=32, unique=True, editable=False)
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    vendor = models.ForeignKey(
        "accounts.Organization",
        on_delete=models.PROTECT,
        related_name="cases",
        limit_choices_to={"kind": "vendor"},
    )
    # The exposed asset.
    asset_provider = models.CharField(max_length=20, choices=AssetProvider.choices)
    asset_kind = models.CharField(max_length=30, choices=AssetKind.choices)
    asset_identifier = models.CharField(
        max_length=1000, help_text="URL or identifier of the exposed asset."
    )
    asset_region = models.CharField(max_length=100, blank=True)
    how_found = models.TextField(help_text="How the exposure was discovered.")
    # What was exposed.
    data_categories = models.JSONField(default=list, blank=True)
    data_categories_other = models.CharField(
        "other data", max_length=500, blank=True, default="", help_text='What the "other" data is.'
    )
    volume_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    volume_objects = models.PositiveBigIntegerField(null=True, blank=True)
    records_by_kind = models.JSONField(
        default=dict, blank=True, help_text='Record counts by kind, e.g. {"emails": 335000}.'
    )
    data_from = models.DateField(null=True, blank=True)
    data_to = models.DateField(null=True, blank=True)
    affected_entity_count = models.PositiveIntegerField(null=True, blank=True)
    affected_country_count = models.PositiveIntegerField(null=True, blank=True)
    # Handling.
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    tlp = models.CharField(max_length=15, choices=Tlp.choices, default=Tlp.AMBER)
    time_zone = models.CharField(max_length=64, default="UTC")
    policy = models.ForeignKey(DisclosurePolicy, on_delete=models.PROTECT, related_name="cases")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_cases",
    )
    # Staff who asked to hear of the vendor's actions on this case when it
    # has no assignee (comms.notices).
    watchers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="watched_cases"
    )
    legal_hold = models.BooleanField(default=False)
    # Days after closing that the content of the case's evidence files is
    # kept (evidence.retention); NULL: settings.DISCLOSURE_RETENTION_DAYS.
    # Set by a lead or an admin through evidence.retention.set_retention,
    # which records each change (retention_changed).
    retention_days = models.PositiveIntegerField(null=True, blank=True, editable=False)
    follows_up = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="follow_ups",
        help_text="The earlier case whose asset was exposed again.",
    )
    # The stage and when each stage occurred (recorded_at lives in the ledger).
    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.FOUND)
    found_at = models.DateTimeField()
    vendor_notified_at = models.DateTimeField(null=True, blank=True)
    secured_at = models.DateTimeField(null=True, blank=True)
    data_deleted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Not stages.
    vendor_acknowledged_at = models.DateTimeField(null=True, blank=True)
    publication_url = models.URLField(max_length=1000, blank=True)
    publication_title = models.CharField(max_length=300, blank=True)
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    # The disclosure terms the case runs under (terms.TERMS_FIELDS), copied
    # from its policy when the policy is set and recorded in the same event
    # (case_opened, details_updated, policy_terms_changed): deadlines are
    # counted from these, and verify_ledger replays them like the stage, so
    # an edit of the policy row alone moves nothing. NULL only on a case
    # whose ledger never recorded terms (none after migration 0006).
    terms_days_to_acknowledge = models.PositiveIntegerField(null=True, editable=False)
    terms_days_to_secure = models.PositiveIntegerField(null=True, editable=False)
    terms_days_to_publish = models.PositiveIntegerField(null=True, editable=False)
    terms_grace_days = models.PositiveIntegerField(null=True, editable=False)
    terms_business_days = models.BooleanField(null=True, editable=False)
    # The head of the case's ledger chain, written with every append in the
    # same transaction: an event cut from the end of the chain shows here.
    ledger_seq = models.PositiveIntegerField(default=0, editable=False)
    ledger_head = models.CharField(max_length=64, default="0" * 64, editable=False)
    # The next open deadline (deadlines.next_deadline), NULL when none: a
    # derived column kept by every case service (guards.locked_case) and by
    # policy edits (deadlines.refresh_next_due), so that the dashboard and
    # the list find what is due or overdue by an index range scan.
    next_due_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Every case service re-reads the row under lock (guards.locked_case) and
    # answers NotFound when it is gone: argument validation need not query it.
    existence_checked_under_lock = True

    class Meta:
        ordering = ["-found_at", "-id"]
        indexes = [
            models.Index(fields=["vendor", "stage"]),
            models.Index(fields=["stage", "-found_at"]),
            # The case list's default order (newest found first) and its last pages.
            models.Index(fields=["-found_at", "-id"], name="case_found_desc_idx"),
            # The list sorted by severity or by stage (either way: scanned backwards).
            models.Index(choice_rank("severity", Severity), "id", name="case_severity_rank_idx"),
            models.Index(choice_rank("stage", Stage), "id", name="case_stage_rank_idx"),
            models.Index(
                fields=["next_due_at", "id"],
                name="case_next_due_idx",
                condition=models.Q(next_due_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} — {self.title}"

    def get_absolute_url(self) -> str:
        return f"/cases/{self.reference}/"

    def get_admin_url(self) -> str:
        return reverse("admin:cases_case_change", args=[self.pk])

    def get_data_categories_display(self) -> str:
        """The data categories by their labels ('E-mail content, Personal
        data (PII)'), as ``get_FOO_display`` does for a single choice; "other"
        as 'Other: <data_categories_other>' when that says what it is."""
        return categories_text(
            self.data_categories, DataCategory.choices, self.data_categories_other
        )


class Escalation(models.Model):
    """The case taken to a third party: a CERT, the cloud provider, a regulator."""

    class Target(models.TextChoices):
        CERT = "cert", "CERT / CSIRT"
        CLOUD_PROVIDER = "cloud_provider", "Cloud provider"
        REGULATOR = "regulator", "Regulator"
        OTHER = "other", "Other"

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="escalations")
    target = models.CharField(max_length=20, choices=Target.choices)
    organization = models.CharField(max_length=200, help_text="Whom it was escalated to.")
    their_reference = models.CharField(
        max_length=200, blank=True, help_text="Their ticket or case number."
    )
    reason = models.TextField()
    escalated_at = models.DateTimeField()
    escalated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["escalated_at", "id"]

    def __str__(self) -> str:
        return f"{self.case.reference} → {self.organization}"
