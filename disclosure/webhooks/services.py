"""Every write of the webhooks app: subscriptions (admins only) and
redeliveries. Each service checks who asks, runs in one transaction and
raises domain errors (core.errors), which the staff UI shows as form errors."""

from __future__ import annotations

import ipaddress
import json
import secrets
import socket
import uuid
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

from django.db import transaction

from disclosure.accounts.models import Organization, User
from disclosure.cases import access
from disclosure.cases.models import Case
from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.guarded_http import FetchRefused, address_refusal, check_url
from disclosure.core.timeutils import now
from disclosure.core.validation import validated
from disclosure.ledger.models import EventKind

from . import fanout
from .models import DeliveryStatus, WebhookDelivery, WebhookSubscription

SECRET_MIN_LENGTH = 16


def may_manage(user) -> bool:
    """Whether ``user`` may manage webhooks and see their deliveries: admins
    (the role that sets the deployment's terms, ``access.Action.EDIT_POLICY``)."""
    return access.can(user, access.Action.EDIT_POLICY)


def _require_admin(user) -> None:
    if not may_manage(user):
        raise NotPermitted("Only admins may manage webhooks.")


def new_secret() -> str:
    """A fresh signing secret (256 random bits, hex)."""
    return secrets.token_hex(32)


def check_address(url: str) -> None:
    """Raise ``ValidationFailed`` (field ``url``) when the guarded client
    would refuse ``url``: its scheme, port or credentials, a forbidden
    literal address, or a host name that resolves now to a forbidden
    address (the same rules as re-probes; the name is checked again, and the
    connection pinned, at every delivery). A name that does not resolve now
    is accepted: its deliveries fail until it does."""
    try:
        check_url(url)
    except FetchRefused as exc:
        raise ValidationFailed(exc.message, field="url") from exc
    host = (urlsplit(url.strip()).hostname or "").rstrip(".")
    try:
        ipaddress.ip_address(host)
        return  # a literal: check_url has judged it
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return
    for info in infos:
        reason = address_refusal(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]))
        if reason:
            raise ValidationFailed(f"{host} may not be used: {reason}", field="url")


def _clean(
    *, name: str, url: str, secret: str, event_kinds: Iterable[str]
) -> tuple[str, str, str, list[str]]:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Give the subscription a name.", field="name")
    if len(name) > 200:
        raise ValidationFailed("The name is longer than 200 characters.", field="name")
    url = (url or "").strip()
    if len(url) > 2000:
        raise ValidationFailed("The URL is longer than 2000 characters.", field="url")
    check_address(url)
    secret = (secret or "").strip()
    if len(secret) < SECRET_MIN_LENGTH or len(secret) > 200:
        raise ValidationFailed(
            f"The secret must be {SECRET_MIN_LENGTH} to 200 characters.", field="secret"
        )
    kinds = sorted(set(event_kinds or ()))
    unknown = [k for k in kinds if k not in EventKind.values]
    if unknown:
        raise ValidationFailed(f"Unknown event kinds: {', '.join(unknown)}.", field="event_kinds")
    return name, url, secret, kinds


def _check_vendors(vendors) -> list:
    vendors = list(vendors or ())
    if any(v.kind != "vendor" for v in vendors):
        raise ValidationFailed("Only vendors can narrow a subscription.", field="vendors")
    return vendors


@validated
@transaction.atomic
def create_subscription(
    *,
    actor: User,
    name: str,
    url: str,
    secret: str = "",
    event_kinds: Sequence[str] = (),
    vendors: Sequence[Organization] = (),
    cases: Sequence[Case] = (),
    internal: bool = False,
) -> WebhookSubscription:
    """Subscribe ``url`` (admins only). ``secret``: at least 16 characters;
    a fresh one is made when it is empty. Empty ``event_kinds``, ``vendors``
    or ``cases``: no narrowing. Takes effect for events appended after
    commit (in every process at once with a shared cache; docs/webhooks.md)."""
    _require_admin(actor)
    name, url, secret, kinds = _clean(
        name=name, url=url, secret=secret or new_secret(), event_kinds=event_kinds
    )
    vendors = _check_vendors(vendors)
    at = now()
    sub = WebhookSubscription.objects.create(
        name=name,
        url=url,
        secret=secret,
        event_kinds=kinds,
        internal=bool(internal),
        active=True,
        created_by=actor,
        created_at=at,
        updated_at=at,
    )
    sub.vendors.set(vendors)
    sub.cases.set(list(cases or ()))
    fanout.forget_subscriptions()
    return sub


@validated
@transaction.atomic
def update_subscription(
    *,
    actor: User,
    subscription: WebhookSubscription,
    name: str,
    url: str,
    secret: str = "",
    event_kinds: Sequence[str] = (),
    vendors: Sequence[Organization] = (),
    cases: Sequence[Case] = (),
    internal: bool = False,
    active: bool = True,
) -> WebhookSubscription:
    """Change ``subscription`` (admins only); an empty ``secret`` keeps the
    current one. Deliveries already queued keep their bodies; a disabled
    subscription's queued deliveries fail when their turn comes."""
    _require_admin(actor)
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    name, url, secret, kinds = _clean(
        name=name, url=url, secret=secret or sub.secret, event_kinds=event_kinds
    )
    vendors = _check_vendors(vendors)
    sub.name, sub.url, sub.secret, sub.event_kinds = name, url, secret, kinds
    sub.internal, sub.active, sub.updated_at = bool(internal), bool(active), now()
    sub.save()
    sub.vendors.set(vendors)
    sub.cases.set(list(cases or ()))
    fanout.forget_subscriptions()
    return sub


@validated
@transaction.atomic
def set_subscription_active(
    *, actor: User, subscription: WebhookSubscription, active: bool
) -> WebhookSubscription:
    """Disable (or enable again) ``subscription`` (admins only)."""
    _require_admin(actor)
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=bool(active), updated_at=now()
    )
    subscription.refresh_from_db()
    fanout.forget_subscriptions()
    return subscription


@validated
@transaction.atomic
def redeliver(*, actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue ``delivery``'s event to its subscription again (admins only):
    a new delivery with a NEW delivery id (idempotency key) and
    ``redelivery_of`` naming the first, carrying the same event (same event
    ``id``, the event's hash) as it was first sent. Receivers de-duplicate
    retries by the delivery id and may spot a repeated event by its id.
    The subscription must be active."""
    _require_admin(actor)
    original = WebhookDelivery.objects.select_related("subscription", "case").get(pk=delivery.pk)
    if not original.subscription.active:
        raise ValidationFailed(
            "The subscription is disabled: enable it to redeliver.", field="delivery"
        )
    first = json.loads(bytes(original.body))
    delivery_id = uuid.uuid4()
    at = now()
    row = WebhookDelivery.objects.create(
        delivery_id=delivery_id,
        subscription=original.subscription,
        case=original.case,
        event_id=original.event_id,
        event_kind=original.event_kind,
        redelivery_of=original,
        requested_by=actor,
        body=fanout.body_for(
            delivery_id=delivery_id,
            subscription_id=original.subscription_id,
            event=first["event"],
            case=first["case"],
            view=first["view"],
            redelivery_of=original.delivery_id,
        ),
        status=DeliveryStatus.QUEUED,
        next_attempt_at=at,
        created_at=at,
    )
    from .delivery import request_delivery

    transaction.on_commit(lambda: request_delivery([row.pk]), robust=True)
    return row
