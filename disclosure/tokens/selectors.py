"""Reads of API tokens."""

from functools import cache

from django.db import connections
from django.db.models import QuerySet

from disclosure.accounts.models import Membership, Organization, Role, User
from disclosure.accounts.selectors import principal_for, remember_principal
from disclosure.core.rawsql import ModelColumns

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


_TOKEN = ModelColumns(ApiToken, "t")
_USER = ModelColumns(User, "u")


@cache
def _token_statement(using: str) -> str:
    """The token by its hash, its user, and one row per membership of the
    user with the organization's id, kind and name (none: one row of nulls).
    Identifiers in double quotes, as SQL (SQLite and PostgreSQL) has them."""
    tables = {name: model._meta.db_table for name, model in
              (("t", ApiToken), ("u", User), ("m", Membership), ("o", Organization))}  # fmt: skip
    return (
        f"SELECT {_TOKEN.select(using)}, {_USER.select(using)},"
        ' "m"."role", "o"."id", "o"."kind", "o"."name"'
        f' FROM "{tables["t"]}" "t"'
        f' INNER JOIN "{tables["u"]}" "u" ON "u"."id" = "t"."user_id"'
        f' LEFT OUTER JOIN "{tables["m"]}" "m" ON "m"."user_id" = "u"."id"'
        f' LEFT OUTER JOIN "{tables["o"]}" "o" ON "o"."id" = "m"."organization_id"'
        ' WHERE "t"."key_hash" = %s'
    )


def token_by_hash(key_hash: str, *, using: str = "default") -> ApiToken | None:
    """The token whose secret hashes to ``key_hash`` (whatever its state),
    with its user, whose access principal (``principal_for``) is already
    known: one statement, token, user and memberships, read by the token's
    unique index. None when there is no such token."""
    with connections[using].cursor() as cursor:
        cursor.execute(_token_statement(using), [key_hash])
        rows = cursor.fetchall()
    if not rows:
        return None
    first = rows[0]
    token = _TOKEN.instance(first[: len(_TOKEN)], using)
    user = _USER.instance(first[len(_TOKEN) : len(_TOKEN) + len(_USER)], using)
    token.user = user
    remember_principal(user, [row[-4:] for row in rows if row[-3] is not None])
    return token
