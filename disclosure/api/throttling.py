"""Request rates per API token and per client address: one throttle that
counts both in fixed windows of the shared cache (core.counters: one round
trip on Redis, atomic across processes). The rates are read at each request
from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (``token`` and ``ip``, as
``N/s``, ``N/min``, ``N/hour`` or ``N/day``), so a settings change applies
without a restart of the class. A request over either budget is a 429 with
Retry-After, the seconds until the exhausted window ends."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from disclosure.core import counters
from disclosure.tokens.models import ApiToken

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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
        budgets = []  # (counter name, rate, window seconds)
        rates = api_settings.DEFAULT_THROTTLE_RATES
        token = parse_rate(rates.get("token"))
        if token is not None and isinstance(request.auth, ApiToken):
            budgets.append((f"throttle:token:{request.auth.pk}", *token))
        ip = parse_rate(rates.get("ip"))
        if ip is not None:
            budgets.append((f"throttle:ip:{self.get_ident(request)}", *ip))
        self._wait = None
        if not budgets:
            return True
        counts = counters.hit([(name, seconds) for name, _, seconds in budgets])
        if counts is None:
            return True
        over = [c.resets_in for (_, limit, _), c in zip(budgets, counts, strict=True)
                if c.value > limit]  # fmt: skip
        if over:
            self._wait = max(over)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait
