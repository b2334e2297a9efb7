"""Rate limits of the verified lookup, counted in the shared cache
(core.counters: Redis in production) in fixed windows: lookups per account
and per client address, verification steps (a code mailed, a security.txt
fetched, a DNS check) per account. When the cache cannot be reached the
count falls back to the database (the access audit's lookup rows, the
verification rows), so an outage of the cache never lifts a limit."""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from disclosure.accounts.models import AccessEvent, User
from disclosure.core import counters
from disclosure.core.errors import DomainError
from disclosure.core.timeutils import now

from .models import DomainVerification

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class RateLimited(DomainError):
    """Too many lookups or verification steps in the current window.
    ``retry_after``: whole seconds until the window ends."""

    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/hour"`` as (20, 3600)."""
    number, _, period = str(rate).partition("/")
    if not number.strip().isdigit() or period.strip()[:1] not in _PERIODS:
        raise ImproperlyConfigured(f"Invalid lookup rate {rate!r}: use N/min, N/hour or N/day.")
    return int(number), _PERIODS[period.strip()[:1]]


def _refuse(seconds: float, what: str) -> RateLimited:
    wait = max(1, int(seconds + 0.999))
    minutes = max(1, round(wait / 60))
    return RateLimited(
        f"Too many {what}: try again in about {minutes} minute{'s' if minutes != 1 else ''}.",
        retry_after=wait,
    )


def spend_lookup(user: User, address: str | None) -> None:
    """Spend one lookup of ``user``'s budget and of ``address``'s (when
    known); RateLimited when either is spent."""
    account = parse_rate(settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT)
    budgets = [counters.Budget(f"lookup:account:{user.pk}", *account)]
    if address:
        per_address = parse_rate(settings.DISCLOSURE_LOOKUP_RATE_ADDRESS)
        budgets.append(counters.Budget(f"lookup:address:{address}", *per_address))
    verdicts = counters.spend(budgets)
    if verdicts is None:  # the cache is down: count the audited lookups instead
        rows = AccessEvent.objects.filter(kind=AccessEvent.Kind.LOOKUP)
        since = now() - timedelta(seconds=account[1])
        if rows.filter(user=user, at__gte=since).count() >= account[0]:
            raise _refuse(account[1], "lookups")
        if address:
            per_address = parse_rate(settings.DISCLOSURE_LOOKUP_RATE_ADDRESS)
            since = now() - timedelta(seconds=per_address[1])
            if rows.filter(address=address, at__gte=since).count() >= per_address[0]:
                raise _refuse(per_address[1], "lookups from your address")
        return
    refused = [v.resets_in for v in verdicts if not v.allowed]
    if refused:
        raise _refuse(max(refused), "lookups")


def spend_verification_step(user: User) -> None:
    """Spend one verification step of ``user``'s budget; RateLimited when spent."""
    limit, seconds = parse_rate(settings.DISCLOSURE_LOOKUP_RATE_VERIFY)
    verdicts = counters.spend([counters.Budget(f"lookup:verify:{user.pk}", limit, seconds)])
    if verdicts is None:
        since = now() - timedelta(seconds=seconds)
        if DomainVerification.objects.filter(user=user, created_at__gte=since).count() >= limit:
            raise _refuse(seconds, "verification steps")
        return
    if not verdicts[0].allowed:
        raise _refuse(verdicts[0].resets_in, "verification steps")
