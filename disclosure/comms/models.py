"""The communication log of a case: every message to, from or about the vendor."""

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
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


class Automated(models.TextChoices):
    """What a received message is when no person wrote it (never shown as the
    vendor's answer)."""

    AUTO_REPLY = "auto_reply", "Automatic reply"
    BOUNCE = "bounce", "Delivery failure report"


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
    # E-mail sent or received through Disclosure (comms.outbound, comms.inbound);
    # all blank for a message logged by hand. Immutable once written: the
    # delivery state of an outbound message lives on its OutboxMessage.
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True, help_text="Message-IDs, space separated.")
    raw_message = models.ForeignKey(
        "evidence.EvidenceFile",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The message exactly as sent or received (RFC 5322), hashed as evidence.",
    )
    # Received mail: whether the sender is outside the vendor's known
    # addresses and domains (flagged, never dropped); None when not checked.
    sender_unknown = models.BooleanField(null=True, blank=True)
    automated = models.CharField(max_length=20, choices=Automated.choices, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["case", "occurred_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~models.Q(message_id=""),
                name="communication_unique_message_id",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.occurred_at:%Y-%m-%d}: {self.subject}"

    @property
    def is_internal(self) -> bool:
        return self.direction == Direction.INTERNAL


class TemplateKey(models.TextChoices):
    FIRST_NOTICE = "first_notice", "First notice"
    FOLLOW_UP = "follow_up", "Follow-up"
    CONFIRM_SECURED = "confirm_secured", "Request to confirm the asset is secured"
    DELETION_NOTICE = "deletion_notice", "Deletion notice"
    PUBLICATION_NOTICE = "publication_notice", "Publication notice"


class MailTemplate(models.Model):
    """An editable template for mail to a vendor; ``{{ placeholders }}`` are
    filled with the case's fields (comms.templates)."""

    key = models.CharField(max_length=30, choices=TemplateKey.choices, unique=True)
    subject = models.CharField(max_length=500)
    body = models.TextField()
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.get_key_display()


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class OutboxPurpose(models.TextChoices):
    VENDOR_MAIL = "vendor_mail", "Mail to the vendor"
    NOTIFICATION = "notification", "Notification"
    DIGEST = "digest", "Daily digest"
    INVITATION = "invitation", "Invitation (its link erased once sent)"


# Purposes whose bytes carry a secret (an invitation's single-use link): the
# stored message is erased once the server accepted it or it failed for good,
# so the database never keeps a usable link (only the token's hash).
SECRET_PURPOSES = frozenset({OutboxPurpose.INVITATION})


class OutboxMessage(models.Model):
    """One message to hand to the mail server: written in the transaction of
    the change it belongs to, delivered after commit (comms.outbox). ``raw``
    is exactly what is sent; the Message-ID makes delivery idempotent."""

    message_id = models.CharField(max_length=998, unique=True)
    purpose = models.CharField(max_length=20, choices=OutboxPurpose.choices)
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="outbox"
    )
    communication = models.OneToOneField(
        Communication,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outbox",
    )
    from_email = models.CharField(max_length=320)
    recipients = models.JSONField(help_text="Envelope recipients (to, cc and bcc).")
    subject = models.CharField(max_length=500, blank=True)
    raw = models.BinaryField()
    status = models.CharField(
        max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    server_response = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    delivery_recipients = models.JSONField(
        default=list,
        blank=True,
        help_text="Per envelope recipient: address, kind (to/cc/bcc), state "
        "(pending/accepted/refused) and the server's answer (comms.recipients).",
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"


class InboundStatus(models.TextChoices):
    MATCHED = "matched", "Logged on its case"
    UNMATCHED = "unmatched", "Waiting in triage"
    ATTACHED = "attached", "Attached to a case from triage"
    NEW_CASE = "new_case", "Opened a new case"
    DISCARDED = "discarded", "Discarded"
    REFUSED = "refused", "Refused"


class InboundMessage(models.Model):
    """One message read from the mailbox, matched or not: the Message-ID is
    never taken twice. The raw bytes are kept (``raw``, private storage) until
    the message becomes a communication, whose evidence then holds them:
    both are the content-addressed blob ``evidence.storage.blob_name(raw_sha256)``,
    which the orphan sweep keeps while a row names it."""

    message_id = models.CharField(max_length=998, unique=True)
    source = models.CharField(max_length=200, help_text="imap:<folder> or maildir:<path>.")
    raw_sha256 = models.CharField(max_length=64)
    raw_size = models.PositiveBigIntegerField()
    sender = models.CharField(max_length=998, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField()
    automated = models.CharField(max_length=20, choices=Automated.choices, blank=True)
    status = models.CharField(max_length=10, choices=InboundStatus.choices)
    problem = models.TextField(blank=True, help_text="Why it was refused, or what was wrong.")
    case = models.ForeignKey(
        "cases.Case", on_delete=models.PROTECT, null=True, blank=True, related_name="inbound"
    )
    communication = models.OneToOneField(
        Communication, on_delete=models.PROTECT, null=True, blank=True, related_name="inbound"
    )
    matched_by = models.CharField(max_length=20, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    triaged_at = models.DateTimeField(null=True, blank=True)
    triage_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["status", "received_at"])]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.status})"


class UndeliverableAddress(models.Model):
    """An address a delivery report said cannot receive mail."""

    address = models.CharField(max_length=320, unique=True)
    since = models.DateTimeField()
    reason = models.TextField(blank=True)
    report = models.ForeignKey(
        InboundMessage, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return self.address


class Notice(models.Model):
    """Something a person is told by mail: sent at once, or gathered into
    their daily digest (comms.notices)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notices"
    )
    case = models.ForeignKey(
        "cases.Case", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    subject = models.CharField(max_length=500)
    body = models.TextField()
    link = models.CharField(max_length=2000)
    created_at = models.DateTimeField()
    digest = models.ForeignKey(
        OutboxMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="notices"
    )
    immediate = models.BooleanField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["user", "digest", "immediate"])]

    def __str__(self) -> str:
        return self.subject


class CommunicationSearch(models.Model):
    """A communication's full-text document (PostgreSQL; ``cases.search``
    matches it): ``to_tsvector('simple', ...)`` of the subject, the first
    4,000 characters of the body, the sender and the recipients, exactly the
    vector ``cases.search.COMMUNICATION_DOCUMENT`` describes. Written with
    the communication by a database trigger (comms/0007), or, for a chunk of
    received mail, just after its commit (``comms.searchindex``): until then
    the communication is in ``CommunicationSearchPending`` and search
    computes its vector on the fly. No foreign key constraint: a row whose
    communication is gone is never matched (search goes through the
    communication)."""

    communication = models.OneToOneField(
        Communication, on_delete=models.DO_NOTHING, primary_key=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip
    document = SearchVectorField()

    def __str__(self) -> str:
        return f"Search document of communication {self.communication_id}"


class CommunicationSearchPending(models.Model):
    """A communication whose ``CommunicationSearch`` row is still to be
    written (``comms.searchindex.index_pending``); written in the
    communication's own transaction, so search never misses it."""

    communication = models.OneToOneField(
        Communication, on_delete=models.DO_NOTHING, primary_key=True,
        db_constraint=False, related_name="+",
    )  # fmt: skip

    def __str__(self) -> str:
        return f"Communication {self.communication_id}, search document pending"
