"""The caller's API tokens: list (admins: everyone's), create (from a
browser session only: a token never mints another), revoke. Vendor
contacts signed in to the portal manage theirs here too."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from disclosure.core.errors import NotPermitted
from disclosure.tokens import selectors, services
from disclosure.tokens.models import ApiToken, Scope

from ..serializers.cases import _time
from ..serializers.common import id_field


class TokenInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=Scope.choices, default=Scope.READ)
    days = serializers.IntegerField(
        min_value=1, max_value=services.MAX_DAYS, default=services.DEFAULT_DAYS
    )


class TokenSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    user = serializers.CharField(help_text="The owner's username.")
    prefix = serializers.CharField(help_text="The token's first characters.")
    scope = serializers.ChoiceField(choices=Scope.choices)
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, t: ApiToken) -> dict[str, Any]:
        return token_data(t)


class IssuedTokenSerializer(TokenSerializer):
    secret = serializers.CharField(help_text="The token itself: shown this once only.")


def token_data(t: ApiToken) -> dict[str, Any]:
    return {
        "id": t.pk,
        "name": t.name,
        "user": t.user.get_username(),
        "prefix": t.prefix,
        "scope": t.scope,
        "created_at": _time(t.created_at),
        "expires_at": _time(t.expires_at),
        "last_used_at": _time(t.last_used_at),
        "revoked_at": _time(t.revoked_at),
    }


class TokenList(generics.ListCreateAPIView):
    serializer_class = TokenSerializer

    def get_queryset(self):
        return selectors.tokens_for(self.request.user)

    @extend_schema(request=TokenInput, responses={201: IssuedTokenSerializer})
    def post(self, request, *args, **kwargs):
        """Create a token for yourself, from a signed-in browser session (not
        with a token). The answer holds its secret, shown this once."""
        if isinstance(request.auth, ApiToken):
            raise NotPermitted("Tokens are created from a signed-in session, not with a token.")
        serializer = TokenInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        issued = services.create_token(user=request.user, **serializer.validated_data)
        body = {**token_data(issued.token), "secret": issued.secret}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenRevoke(generics.GenericAPIView):
    serializer_class = TokenSerializer

    @extend_schema(request=None, responses={200: TokenSerializer})
    def post(self, request, token_id: int):
        """Revoke one of your tokens (admins: anyone's); 404 for another's."""
        id_field().run_validation(token_id)
        token = services.revoke_token(actor=request.user, token_id=token_id)
        return Response(token_data(token))
