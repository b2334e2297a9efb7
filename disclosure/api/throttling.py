"""Throttles per API token and per client IP. The rates are read at each
request from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (so a settings change
applies without a restart of the class)."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from disclosure.tokens.models import ApiToken


class _Configured(SimpleRateThrottle):
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class TokenRateThrottle(_Configured):
    """Requests per token (none for session or anonymous requests)."""

    scope = "token"

    def get_cache_key(self, request, view):
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class IPRateThrottle(_Configured):
    """Requests per client address, whoever asks."""

    scope = "ip"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
