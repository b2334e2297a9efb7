"""Lock-out and throttling of sign-ins and API tokens (issue 20), counted
from the access audit (``AccessEvent``), per account and per address.

An account (the name typed, whether or not it exists) is locked after
``DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES`` failed sign-ins (wrong password,
right password on the wrong sign-in page, wrong second factor) within
``DISCLOSURE_LOCKOUT_MINUTES``, counted since its last sign-in or unlock. An
address is locked after ``DISCLOSURE_LOCKOUT_ADDRESS_FAILURES`` failures of
any kind (refused API tokens too) within the window, since its last unlock.
A lock ends when the window has passed without further failures counted,
or when an admin unlocks (``unlock``, a logged event). While locked, even
the right password is refused with the same message.
"""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Max, Q

from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import validated

from . import audit
from .models import AccessEvent, User
from .selectors import can_administer

Kind = AccessEvent.Kind
logger = logging.getLogger(__name__)
SIGN_IN_FAILURES = (Kind.SIGN_IN_FAILED, Kind.FACTOR_FAILED)
ADDRESS_FAILURES = (Kind.SIGN_IN_FAILED, Kind.FACTOR_FAILED, Kind.TOKEN_FAILED)

LOCKED_MESSAGE = (
    "Too many failed sign-ins: sign-in is locked for {minutes} minutes. "
    "An administrator can unlock it sooner."
)


def locked_message() -> str:
    """What a locked-out sign-in (or token) is told."""
    return LOCKED_MESSAGE.format(minutes=settings.DISCLOSURE_LOCKOUT_MINUTES)


def _window_start():
    return now() - timedelta(minutes=settings.DISCLOSURE_LOCKOUT_MINUTES)


def _account_failures(username: str) -> int:
    username = username.lower()
    since = _window_start()
    reset = AccessEvent.objects.filter(
        username=username, kind__in=(Kind.SIGN_IN, Kind.UNLOCKED), at__gte=since
    ).aggregate(m=Max("at"))["m"]
    return AccessEvent.objects.filter(
        username=username, kind__in=SIGN_IN_FAILURES, at__gt=reset or since
    ).count()


def _address_failures(address: str) -> int:
    since = _window_start()
    reset = AccessEvent.objects.filter(
        address=address, kind=Kind.UNLOCKED, detail__scope="address", at__gte=since
    ).aggregate(m=Max("at"))["m"]
    return AccessEvent.objects.filter(
        address=address, kind__in=ADDRESS_FAILURES, at__gt=reset or since
    ).count()


def account_locked(username: str) -> bool:
    """Whether sign-in as ``username`` is locked now."""
    return bool(username) and (
        _account_failures(username) >= settings.DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES
    )


def address_locked(address: str | None) -> bool:
    """Whether sign-ins and tokens from ``address`` are locked now."""
    return bool(address) and (
        _address_failures(address) >= settings.DISCLOSURE_LOCKOUT_ADDRESS_FAILURES
    )


def _flag(address: str) -> str:
    return f"disclosure:lockout:failed-from:{address}"


def address_locked_fast(address: str | None) -> bool:
    """``address_locked`` without a query for an address that had no failure
    within the window (a flag in the shared cache, set by each failure):
    for every API request."""
    if not address:
        return False
    try:
        flagged = cache.get(_flag(address))
    except Exception:  # an unreachable cache: ask the database instead
        logger.warning("lock-out flag of %s could not be read from the cache", address)
        flagged = True
    return bool(flagged) and address_locked(address)


def is_locked(*, username: str, address: str | None) -> bool:
    """Whether a sign-in as ``username`` from ``address`` must be refused."""
    return account_locked(username) or address_locked(address)


def record_failure(
    kind: str, *, username: str = "", user: User | None = None, interface: str, **detail
) -> bool:
    """Record one failure (``SIGN_IN_FAILED``, ``FACTOR_FAILED`` or
    ``TOKEN_FAILED``) from the current address; when it locks the account or
    the address, a ``LOCKED_OUT`` row says which. Returns whether the
    account or the address is locked now."""
    audit.record(kind, username=username, user=user, interface=interface, **detail)
    address = audit.current_address()
    if address:
        try:
            cache.set(_flag(address), 1, timeout=settings.DISCLOSURE_LOCKOUT_MINUTES * 60)
        except Exception:  # the database row counts; only the fast path misses it
            logger.warning("lock-out flag of %s could not be written to the cache", address)
    locked = False
    if kind != Kind.TOKEN_FAILED and account_locked(username):
        if _account_failures(username) == settings.DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES:
            audit.record(Kind.LOCKED_OUT, username=username, user=user,
                         interface=interface, scope="account")  # fmt: skip
        locked = True
    if address_locked(address):
        if _address_failures(address) == settings.DISCLOSURE_LOCKOUT_ADDRESS_FAILURES:
            audit.record(Kind.LOCKED_OUT, interface=interface, scope="address")
        locked = True
    return locked


@dataclass(frozen=True)
class Lock:
    """A current lock: of an account (``username``) or an address."""

    scope: str
    key: str
    failures: int
    last_failure_at: object


def current_locks() -> list[Lock]:
    """Every account and address locked now, newest failure first."""
    since = _window_start()
    rows = AccessEvent.objects.filter(kind=Kind.LOCKED_OUT, at__gte=since).values_list(
        "detail", "username", "address"
    )
    locks: dict[tuple[str, str], Lock] = {}
    for detail, username, address in rows:
        scope = (detail or {}).get("scope", "account")
        key = username if scope == "account" else address
        if not key or (scope, key) in locks:
            continue
        failures = _account_failures(key) if scope == "account" else _address_failures(key)
        limit = (
            settings.DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES
            if scope == "account"
            else settings.DISCLOSURE_LOCKOUT_ADDRESS_FAILURES
        )
        if failures < limit:
            continue
        field = Q(username=key) if scope == "account" else Q(address=key)
        last = AccessEvent.objects.filter(field, kind__in=ADDRESS_FAILURES).aggregate(m=Max("at"))[
            "m"
        ]
        locks[(scope, key)] = Lock(scope, key, failures, last)
    return sorted(locks.values(), key=lambda lock: lock.last_failure_at, reverse=True)


@validated
def unlock(*, actor: User, username: str = "", address: str = "") -> AccessEvent:
    """Unlock an account (``username``) or an address: admins only
    (NotPermitted otherwise). Failures before the unlock no longer count;
    the unlock is an ``UNLOCKED`` audit row naming the admin."""
    if not can_administer(actor):
        raise NotPermitted("Only an admin may unlock sign-ins.")
    if bool(username) == bool(address):
        raise ValidationFailed("Unlock either an account or an address.", field="username")
    if address:
        try:
            address = str(ipaddress.ip_address(address.strip()))
        except ValueError:
            raise ValidationFailed(f"{address!r} is not an IP address.", field="address") from None
    if username:
        return audit.record(
            Kind.UNLOCKED, username=username, scope="account", by=actor.get_username()
        )
    return audit.record(Kind.UNLOCKED, address=address, scope="address", by=actor.get_username())
