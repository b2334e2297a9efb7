"""Request rates per API token and per client address: one throttle that
spends both budgets in fixed windows of the shared cache (core.counters:
leases of a few requests at a time, so the cache is asked about once in 16
requests; never more than the rate granted, across every process). The
rates are read at each request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
(``token`` and ``ip``, as ``N/s``, ``N/min``, ``N/hour`` or ``N/day``), so a
settings change applies without a restart of the class. A request over either
budget is a 429 with Retry-After, the seconds until the exhausted window ends."""

from functools import cache

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from disclosure.core import counters
from disclosure.tokens.models import ApiToken

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@cache
def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """``"600/min"`` as (600 requests, 60 seconds); None for no limit."""
    if rate is None:
        return None
    number, _, period = rate.partition("/")
    if not number.isdigit() or period[:1] not in _PERIODS:
        raise ImproperlyConfigured(
            f"Invalid API throttle rate {rate!r}: use N/s, N/min, N/hour or N/day."
        )
    return int(number), _PERIODS[period[:1]]


class RequestRateThrottle(BaseThrottle):
    """At most the ``token`` rate per API token (session and anonymous
    requests have no token budget) and the ``ip`` rate per client address,
    whoever asks. When the cache cannot be reached the request is let through
    (and the failure logged): an outage of the cache is not one of the API."""

    def allow_request(self, request, view) -> bool:
        budgets = []
        rates = api_settings.DEFAULT_THROTTLE_RATES
        token = parse_rate(rates.get("token"))
        if token is not None and isinstance(request.auth, ApiToken):
            budgets.append(counters.Budget(f"throttle:token:{request.auth.pk}", *token))
        ip = parse_rate(rates.get("ip"))
        if ip is not None:
            budgets.append(counters.Budget(f"throttle:ip:{self.get_ident(request)}", *ip))
        self._wait = None
        verdicts = counters.spend(budgets) if budgets else None
        if not verdicts:
            return True
        refused = [v.resets_in for v in verdicts if not v.allowed]
        if refused:
            self._wait = max(refused)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
