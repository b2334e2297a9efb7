"""Reads of API tokens."""

from django.db.models import QuerySet

from disclosure.accounts.models import Role
from disclosure.accounts.selectors import principal_for

from .models import ApiToken


def may_manage_all(user) -> bool:
    """Admins see and revoke every user's tokens; everyone else only their own."""
    return principal_for(user).staff_role == Role.ADMIN


def tokens_for(user) -> QuerySet[ApiToken]:
    """The tokens ``user`` may list: their own, or every token for an admin,
    with their owners (one query)."""
    rows = ApiToken.objects.select_related("user", "revoked_by")
    if not getattr(user, "is_authenticated", False):
        return rows.none()
    return rows if may_manage_all(user) else rows.filter(user=user)
