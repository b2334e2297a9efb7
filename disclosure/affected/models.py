"""Disputes: a claim the vendor contests, with both positions and provenance;
the firm's answer, and how a lead settled it. A count dispute (``count_level``
set) also carries each party's number at that level, by which method, when,
and the computed count it rests on (affected.claims).

Affected entities: each case's list settings and counts (AffectedList), its
imports (AffectedImport), the records (AffectedRecord), their hosts
(AffectedHost) and countries (AffectedCountry), and the organizations staff
group registrable domains into (AffectedOrganization, OrganizationDomain).
"""

from django.conf import settings
from django.db import models
from django.db.models import Case as CaseWhen
from django.db.models import F, Value, When
from django.db.models.functions import Lower, StrIndex, Substr


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
    # A count dispute: the level counted, and each party's latest claim
    # (the ledger's count_claim_filed events keep every earlier one).
    count_level = models.CharField(max_length=20, blank=True, default="")
    firm_count = models.PositiveBigIntegerField(null=True, blank=True)
    firm_count_method = models.TextField(blank=True, default="")
    firm_count_at = models.DateTimeField(null=True, blank=True)
    firm_count_basis = models.JSONField(null=True, blank=True)
    vendor_count = models.PositiveBigIntegerField(null=True, blank=True)
    vendor_count_method = models.TextField(blank=True, default="")
    vendor_count_at = models.DateTimeField(null=True, blank=True)
    vendor_count_basis = models.JSONField(null=True, blank=True)

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


class Level(models.TextChoices):
    """The levels an affected list is counted at, coarse to fine last."""

    MENTIONS = "mentions", "Raw mentions"
    EMAILS = "emails", "Distinct e-mail addresses"
    HOSTS = "hosts", "Distinct hosts"
    DOMAINS = "domains", "Registrable domains"
    BUSINESS_DOMAINS = "business_domains", "Registrable domains without free-mail"
    ORGANIZATIONS = "organizations", "Organizations"
    COUNTRIES = "countries", "Countries"


class AffectedList(models.Model):
    """A case's affected-list settings and its counts as last computed
    (affected.counting; recomputed by every import and grouping)."""

    case = models.OneToOneField(
        "cases.Case", on_delete=models.PROTECT, related_name="affected_list"
    )
    # Keep only a keyed hash (HMAC-SHA-256 with DISCLOSURE_AFFECTED_HASH_KEY)
    # of e-mail addresses, never the address.
    minimise_emails = models.BooleanField(default=False)
    # Set when minimisation is first turned on, never unset: from then on
    # every record of the case carries the keyed hash of its address, and
    # the e-mail level tells addresses apart by it (affected.counting).
    emails_by_hash = models.BooleanField(default=False)
    lookups_enabled = models.BooleanField(default=True)
    counts = models.JSONField(default=dict)
    counted_at = models.DateTimeField(null=True, blank=True)
    suffix_list = models.CharField(max_length=120, blank=True, default="")

    def __str__(self) -> str:
        return f"Affected list of case {self.case_id}"


class AffectedImport(models.Model):
    """One import of an affected-records file: all of it or nothing."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Refused"

    class Format(models.TextChoices):
        CSV = "csv", "CSV (header row)"
        TEXT = "text", "Plain text (one address, host or domain a line)"
        JSONL = "jsonl", "JSON Lines"

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    format = models.CharField(max_length=10, choices=Format.choices)
    filename = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True, default="")
    # Where the uploaded file waits for the task (private storage); erased after.
    stored_name = models.CharField(max_length=255, blank=True, default="")
    bytes_read = models.PositiveBigIntegerField(default=0)
    lines = models.PositiveBigIntegerField(default=0)
    rows = models.PositiveBigIntegerField(default=0)
    bad_lines = models.PositiveBigIntegerField(default=0)
    # The first bad lines: [{"line": n, "reason": "..."}], at most 100.
    errors = models.JSONField(default=list)
    message = models.TextField(blank=True, default="")
    minimised = models.BooleanField(default=False)
    event_seq = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return min(99, int(100 * self.bytes_read / self.size)) if self.size else 0


class AffectedRecord(models.Model):
    """One accepted line of an imported file.

    Written two ways (affected.importing): COPYed from the file as written
    (``directload``: the address's local part and host as the file spells
    them, checked, whose host normalises to its own lower case), or
    normalised by the line readers (``parsing``, ``fastload``), which also
    set ``email_hash``. Either way ``record_host`` (SQL: ``HOST_KEY_SQL``)
    is the host the record is at, as written: the address's part after its
    one ``@``, else ``host`` (the domain column). The case's AffectedHost
    row with that spelling holds its normalisation, so a record carries no
    derived column: the lower case of ``email`` is the normalised address.

    ``email`` is "" once the case minimises: then ``email_hash`` (the keyed
    hash of the normalised address) stands for it and ``host`` holds the
    address's host."""

    # On PostgreSQL the ids have no index (migration 0007): no statement
    # finds a record by its id, and the index cost a third of an import's
    # time. They stay unique: the identity is GENERATED ALWAYS.
    id = models.BigAutoField(primary_key=True)
    # No database-level foreign keys (PROTECT still holds in the ORM): only
    # the import writes these rows, with the case and the import it holds
    # locked, and PostgreSQL checks a foreign key one row at a time at commit
    # (two million checks, ~30 s, for a million-row import). The rows are
    # found by case through a BRIN index on PostgreSQL (migration 0006): an
    # import appends its rows together, and a B-tree would cost it more.
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, related_name="+", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    batch = models.ForeignKey(
        AffectedImport, on_delete=models.PROTECT, related_name="records", db_index=False,
        db_constraint=False,
    )  # fmt: skip
    email = models.CharField(max_length=320, blank=True, default="", db_default="")
    email_hash = models.CharField(max_length=64, blank=True, default="", db_default="")
    host = models.CharField(max_length=253, blank=True, default="", db_default="")
    organization = models.CharField(max_length=300, blank=True, default="", db_default="")
    country = models.CharField(max_length=2, blank=True, default="", db_default="")
    found_file = models.CharField(max_length=1000, blank=True, default="", db_default="")
    found_path = models.CharField(max_length=1000, blank=True, default="", db_default="")
    # db_default: the direct load COPYs only the file's columns.

    def __str__(self) -> str:
        return f"record {self.pk}: {self.email or self.host}"


def host_key_sql(vendor: str) -> str:
    """The host a record is at, as written, in lower case (see AffectedRecord), in SQL
    over the table alias ``r``."""
    find = "strpos(r.email, '@')" if vendor == "postgresql" else "instr(r.email, '@')"
    return f"lower(CASE WHEN r.email <> '' THEN substr(r.email, {find} + 1) ELSE r.host END)"


def record_host() -> Lower:
    """``host_key_sql`` as an ORM expression."""
    return Lower(
        CaseWhen(
            When(email="", then=F("host")),
            default=Substr("email", StrIndex("email", Value("@")) + 1),
            output_field=models.CharField(),
        )
    )


class AffectedOrganization(models.Model):
    """Registrable domains staff grouped into one organization (e.g. one
    company's country branches), and whether, when and how it was told."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    told_at = models.DateTimeField(null=True, blank=True)
    told_how = models.CharField(max_length=20, blank=True, default="")
    told_note = models.TextField(blank=True, default="")
    told_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "name"], name="affected_org_case_name")
        ]

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """A registrable domain of a case counted as part of an organization."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(
        AffectedOrganization, on_delete=models.PROTECT, related_name="domains"
    )
    domain = models.CharField(max_length=253)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "domain"], name="affected_orgdomain_case_domain"
            )
        ]

    def __str__(self) -> str:
        return self.domain


class AffectedHost(models.Model):
    """A host of a case's records as written, in lower case (``spelling``:
    see AffectedRecord), with its normalisation and the number of records at
    it: the hosts, IP, domain and free-mail levels are counted from these
    few rows, not from millions of records. Kept by every import in its
    transaction (affected.importing); spellings of one host share ``host``."""

    id = models.BigAutoField(primary_key=True)
    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # see AffectedRecord
    )
    spelling = models.CharField(max_length=253)
    host = models.CharField(max_length=253)
    is_ip = models.BooleanField(default=False)
    domain = models.CharField(max_length=253, blank=True, default="")
    free_mail = models.BooleanField(default=False)
    mentions = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["case", "spelling"], name="affected_host_case_spelling")
        ]

    def __str__(self) -> str:
        return self.host


class AffectedCountry(models.Model):
    """A distinct country code given in a case's records."""

    case = models.ForeignKey(
        "cases.Case",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # see AffectedRecord
    )
    country = models.CharField(max_length=2)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "country"], name="affected_country_case_country"
            )
        ]

    def __str__(self) -> str:
        return self.country
