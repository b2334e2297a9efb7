"""API permissions beside access.py: what a token's scope allows, and which
collections are the firm's own. Which case a caller may see or act on is
always access.py's answer."""

from rest_framework import permissions

from disclosure.cases import access
from disclosure.tokens.models import ApiToken


class TokenScope(permissions.BasePermission):
    """A read-only token may only read (GET, HEAD, OPTIONS)."""

    message = "This token is read-only: create a read-write token to change anything."
    code = "token_read_only"

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if isinstance(token, ApiToken) and request.method not in permissions.SAFE_METHODS:
            return token.can_write
        return True


class StaffOnly(permissions.BasePermission):
    """Collections of the firm's own (organizations, intake): staff only."""

    message = "Only research-firm staff may use this endpoint."
    code = "not_permitted"

    def has_permission(self, request, view) -> bool:
        return access.can_use_staff_ui(request.user)
