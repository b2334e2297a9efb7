"""Bearer-token authentication over disclosure.tokens (``Authorization:
Bearer dsc_...``). An unknown, revoked or expired token is a 401 with its
own code; a request without a token falls through to the session."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from disclosure.accounts import audit, lockout
from disclosure.accounts.models import AccessEvent
from disclosure.tokens import services as tokens


class TokenRefused(exceptions.AuthenticationFailed):
    pass


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() not in (b"bearer", b"token"):
            return None
        if len(header) != 2:
            raise TokenRefused("Give one token after 'Bearer'.", code="token_invalid")
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise TokenRefused("Invalid token.", code="token_invalid") from None
        # An address locked by failed sign-ins or refused tokens gets 429,
        # even with a right token (accounts.lockout).
        if lockout.address_locked_fast(audit.current_address()):
            raise exceptions.Throttled(detail=lockout.locked_message())
        try:
            token = tokens.authenticate(raw)
        except tokens.TokenRefused as e:
            lockout.record_failure(AccessEvent.Kind.TOKEN_FAILED, interface="api",
                                   username=raw[:10], reason=e.code)  # fmt: skip
            raise TokenRefused(e.message, code=e.code) from None
        return token.user, token

    def authenticate_header(self, request) -> str:
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "disclosure.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "dsc_..."}
