"""The access audit (issue 20): who signed in, failed, was locked out or
unlocked, changed their factors or password, exported, downloaded or looked
something up, from which address and when.

``record`` is the one writer of ``AccessEvent``. Services that run for a web
request do not take the request; the request's address reaches them through
``AuditAddressMiddleware``, which holds it for the length of the request
(a context variable: nothing leaks into another request or thread). Outside
a request (a Celery task, a command) the address is None.
"""

import ipaddress
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now

from .models import AccessEvent, User

_address: ContextVar[str | None] = ContextVar("disclosure_access_address", default=None)

Kind = AccessEvent.Kind


def request_address(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``API_NUM_PROXIES``
    reverse proxies that append to ``X-Forwarded-For`` the entry the
    outermost of them wrote (as the API's per-address throttle reads it, so
    both count one client alike; docs/DEPLOY.md). A client cannot choose its
    address with the header: what it sends stands left of that entry."""
    value = (request.META.get("REMOTE_ADDR") or "").strip()
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES") or 0
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies > 0 and forwarded:
        entries = [e.strip() for e in forwarded.split(",")]
        value = entries[-min(proxies, len(entries))]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:  # empty (a Unix socket) or not an address: none
        return None


def current_address() -> str | None:
    """The address of the request being served, or None outside one."""
    return _address.get()


class AuditAddressMiddleware:
    """Holds the request's address for ``record`` while the request is served."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _address.set(request_address(request))
        try:
            return self.get_response(request)
        finally:
            _address.reset(token)


def record(
    kind: str,
    *,
    user: User | None = None,
    username: str = "",
    interface: str = "",
    address: str | None = None,
    **detail,
) -> AccessEvent:
    """Append one audit row: ``kind`` (an ``AccessEvent.Kind``), the user when
    known, the name typed (stored lower case; the user's own when not
    given), the address (the current request's when not given), the
    interface (staff, portal, admin, api) and JSON ``detail``. Rows are never
    changed afterwards."""
    if kind not in Kind.values:
        raise ValueError(f"Unknown access event kind {kind!r}")
    if len(interface) > 12 or not (interface or "x").replace("_", "").isalnum():
        raise ValidationFailed("Unknown interface.", field="interface")
    if not username and user is not None:
        username = user.get_username()
    return AccessEvent.objects.create(
        kind=kind,
        at=now(),
        user=user if user is not None and user.pk else None,
        username=(username or "")[:150].lower(),
        address=address if address is not None else current_address(),
        interface=interface,
        detail=detail,
    )


def events(
    *,
    kind: str = "",
    username: str = "",
    address: str = "",
    since=None,
    until=None,
):
    """The audit rows, newest first, with their users (one query), filtered
    by kind, by the name typed or the user's (contains, case-insensitive),
    by exact address and by time (``since`` inclusive, ``until`` exclusive)."""
    from django.db.models import Q

    rows = AccessEvent.objects.select_related("user")
    if kind:
        rows = rows.filter(kind=kind)
    if username:
        rows = rows.filter(Q(username__icontains=username) | Q(user__username__icontains=username))
    if address:
        rows = rows.filter(address=address)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows.order_by("-at", "-id")
