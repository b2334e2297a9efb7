"""Webhook subscriptions and their deliveries (the outbox rows of the
channel "webhooks"). See docs/webhooks.md for what a receiver gets."""

import uuid

from django.conf import settings
from django.db import models


class WebhookSubscription(models.Model):
    """An admin's order: POST each ledger event of these kinds (all kinds
    when none is named), of these vendors' cases and these cases (any when
    none is named), to ``url``, signed with ``secret``. Only an ``internal``
    subscription receives internal events and full payloads; the others get
    the vendor's view of vendor-visible events."""

    name = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    secret = models.CharField(max_length=200)
    event_kinds = models.JSONField(
        default=list, blank=True, help_text="Event kinds sent; empty: every kind."
    )
    vendors = models.ManyToManyField(
        "accounts.Organization", blank=True, related_name="webhook_subscriptions"
    )
    cases = models.ManyToManyField("cases.Case", blank=True, related_name="webhook_subscriptions")
    internal = models.BooleanField(
        default=False, help_text="Receives internal events and full payloads."
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class DeliveryStatus(models.TextChoices):
    # The values of the shared outbox engine (core.outbox).
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One POST of one event to one subscription: written in the event's
    transaction, delivered after commit by the outbox engine (claim, lease,
    fencing by attempt number, back-off). ``delivery_id`` is the idempotency
    key the receiver gets in every attempt; ``body`` the exact bytes sent
    (and signed). A redelivery is a new row with a new ``delivery_id``,
    the same event and ``redelivery_of`` set."""

    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.PROTECT, related_name="deliveries"
    )
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    event = models.ForeignKey("ledger.CaseEvent", on_delete=models.PROTECT, related_name="+")
    event_kind = models.CharField(max_length=40)
    redelivery_of = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="redeliveries"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    body = models.BinaryField()
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["subscription", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.delivery_id} ({self.status})"
