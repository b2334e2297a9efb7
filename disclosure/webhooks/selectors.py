"""Every read of the webhooks app, with its prefetching (staff UI)."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from .models import DeliveryStatus, WebhookDelivery, WebhookSubscription

DELIVERIES_PAGE_SIZE = 50


def subscriptions() -> QuerySet[WebhookSubscription]:
    """Every subscription with its vendors and cases (two prefetches) and the
    number of its deliveries queued and failed: three queries for any number."""
    return (
        WebhookSubscription.objects.select_related("created_by")
        .prefetch_related("vendors", "cases")
        .annotate(
            queued_count=Count(
                "deliveries",
                filter=Q(deliveries__status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENDING]),
            ),
            failed_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
        )
        .order_by("name", "id")
    )


def subscription(pk: int) -> WebhookSubscription:
    """One subscription with its vendors and cases (DoesNotExist if none)."""
    return WebhookSubscription.objects.prefetch_related("vendors", "cases").get(pk=pk)


def deliveries(
    *,
    subscription_id: int | None = None,
    status: str = "",
    case_reference: str = "",
    event_kind: str = "",
) -> QuerySet[WebhookDelivery]:
    """The delivery log, newest first, narrowed by the given filters, with
    its subscription, case and the delivery it repeats joined in (the body
    is left out: the list never shows it)."""
    rows = WebhookDelivery.objects.select_related("subscription", "case", "redelivery_of").defer(
        "body", "subscription__secret", "redelivery_of__body"
    )
    if subscription_id:
        rows = rows.filter(subscription_id=subscription_id)
    if status:
        rows = rows.filter(status=status)
    if case_reference:
        rows = rows.filter(case__reference=case_reference.strip().upper())
    if event_kind:
        rows = rows.filter(event_kind=event_kind)
    return rows.order_by("-created_at", "-id")


def delivery(pk: int) -> WebhookDelivery:
    """One delivery with its subscription, case, requester and the delivery
    it repeats (DoesNotExist if none)."""
    return WebhookDelivery.objects.select_related(
        "subscription", "case", "requested_by", "redelivery_of"
    ).get(pk=pk)


def redeliveries(row: WebhookDelivery) -> QuerySet[WebhookDelivery]:
    """The redeliveries of ``row``, oldest first."""
    return WebhookDelivery.objects.filter(redelivery_of=row).defer("body").order_by("id")
