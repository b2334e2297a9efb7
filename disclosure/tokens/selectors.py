"""Reads of API tokens."""

import hashlib
import weakref
from functools import cache

from django.conf import settings
from django.db import DatabaseError, connections
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
    unique index. None when there is no such token. On PostgreSQL the
    statement is prepared once per connection (planning it cost more than
    running it), unless DISCLOSURE_DB_PREPARED_STATEMENTS is off."""
    connection = connections[using]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql" and settings.DISCLOSURE_DB_PREPARED_STATEMENTS:
            _execute_prepared(connection, cursor, key_hash, using)
        else:
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


# The psycopg connections (database sessions) the statement is prepared on.
_PREPARED_ON: weakref.WeakSet = weakref.WeakSet()
_MISSING, _EXISTS = "26000", "42P05"  # SQLSTATEs: no such prepared statement; one already


def _execute_prepared(connection, cursor, key_hash: str, using: str) -> None:
    """EXECUTE the prepared token statement, preparing it in the same round
    trip on a session that lacks it. A session that lost it (a pooler reset
    it) or already has it (a pooler's shared session) is mended outside a
    transaction; inside one the error stands (behind a transaction-mode
    pooler, turn DISCLOSURE_DB_PREPARED_STATEMENTS off)."""
    statement = _token_statement(using)
    name = "disclosure_token_" + hashlib.sha256(statement.encode()).hexdigest()[:16]
    session = connection.connection
    if session in _PREPARED_ON:
        try:
            cursor.execute(f"EXECUTE {name}(%s)", [key_hash])
            return
        except DatabaseError as e:
            if _sqlstate(e) != _MISSING or connection.in_atomic_block:
                raise
            _PREPARED_ON.discard(session)
    body = statement.replace("%s", "$1")
    try:
        cursor.execute(f"PREPARE {name}(text) AS {body}; EXECUTE {name}(%s)", [key_hash])
        cursor.nextset()  # the rows are EXECUTE's
    except DatabaseError as e:
        if _sqlstate(e) != _EXISTS or connection.in_atomic_block:
            raise
        cursor.execute(f"EXECUTE {name}(%s)", [key_hash])
    _PREPARED_ON.add(session)


def _sqlstate(error: Exception) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)
