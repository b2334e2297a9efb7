"""PostgreSQL roles: migrations run as the owner, the application as a role
that may only read and append to the ledger.

The ledger's append-only trigger stops UPDATE and DELETE, but the owner of a
table can disable or drop its triggers and TRUNCATE it (TRUNCATE fires no row
trigger). So the application must not connect as the owner: it connects as a
separate role holding ``SELECT, INSERT`` on the append-only tables and
``SELECT, INSERT, UPDATE, DELETE`` on the others. Without ownership it can
neither ``ALTER TABLE ... DISABLE TRIGGER`` nor ``DROP TRIGGER`` nor
``TRUNCATE``.

``grant_app_role`` applies those grants (idempotent: it first revokes
everything the role holds in the schema, so it also tightens a role that had
more). Run it as the owner after every ``migrate``
(``manage.py setup_db_roles --app-role NAME``): a table created later gets no
grant until then, so the application fails closed rather than open.
``privilege_problems`` is what the deploy check asks.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection as default_connection

# Tables the application may only read and append to (also guarded by
# triggers that refuse UPDATE and DELETE).
APPEND_ONLY_TABLES = ["ledger_caseevent", "ledger_checkpoint", "ledger_checkpointtimestamp"]
# Tables the application may only read: migrations are recorded by the owner.
READ_ONLY_TABLES = ["django_migrations"]

READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"
APPEND_ONLY = "SELECT, INSERT"
READ_ONLY = "SELECT"


@dataclass(frozen=True)
class Grant:
    table: str
    privileges: str


def schema_tables(connection=default_connection) -> list[str]:
    """Ordinary and partitioned tables of the current schema, sorted."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "ORDER BY c.relname"
        )
        return [row[0] for row in cursor.fetchall()]


def planned_grants(tables: list[str]) -> list[Grant]:
    """What the application role gets on each of ``tables``."""
    grants = []
    for table in tables:
        if table in APPEND_ONLY_TABLES:
            grants.append(Grant(table, APPEND_ONLY))
        elif table in READ_ONLY_TABLES:
            grants.append(Grant(table, READ_ONLY))
        else:
            grants.append(Grant(table, READ_WRITE))
    return grants


def _is_superuser(cursor, role: str) -> bool | None:
    """Whether ``role`` is a superuser; None if there is no such role."""
    cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    return None if row is None else bool(row[0])


def grant_app_role(role: str, connection=default_connection) -> list[Grant]:
    """Give ``role`` exactly the application's privileges in the current schema.

    Guarantees, in one transaction: ``role`` holds ``SELECT, INSERT`` on every
    existing table of ``APPEND_ONLY_TABLES``, ``SELECT`` on
    ``READ_ONLY_TABLES``, ``SELECT, INSERT, UPDATE, DELETE`` on every other
    table of the schema, ``USAGE, SELECT`` on its sequences (``nextval``, not
    ``setval``) and ``USAGE`` on the schema, and no other table or sequence
    privilege there (no TRUNCATE, REFERENCES or TRIGGER). Raises ``ValueError``
    when the role does not exist, is a superuser, is the connected role, or
    is a member of a role that owns one of the tables (it would inherit the
    ownership that can disable the trigger). Returns the grants applied.
    """
    from django.db import transaction

    if connection.vendor != "postgresql":
        raise ValueError("database roles exist only on PostgreSQL")
    qn = connection.ops.quote_name
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        superuser = _is_superuser(cursor, role)
        if superuser is None:
            raise ValueError(f"no PostgreSQL role {role!r} (create it first, or pass --create)")
        if superuser:
            raise ValueError(f"{role!r} is a superuser: it could do anything to the ledger")
        cursor.execute("SELECT current_user")
        if cursor.fetchone()[0] == role:
            raise ValueError(
                f"{role!r} is the role running this: grant to the application's role, "
                "connected as the owner"
            )
        tables = schema_tables(connection)
        cursor.execute(
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') "
            "AND pg_has_role(%s, c.relowner, 'USAGE')",
            [role],
        )
        owned = cursor.fetchall()
        if owned:
            table, owner = owned[0]
            raise ValueError(
                f"{role!r} owns {table!r} or inherits from its owner {owner!r}: "
                "the application role must not own the tables"
            )
        cursor.execute("SELECT current_schema()")
        schema = qn(cursor.fetchone()[0])
        grantee = qn(role)
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {grantee}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {grantee}")
        cursor.execute(f"GRANT USAGE ON SCHEMA {schema} TO {grantee}")
        grants = planned_grants(tables)
        for grant in grants:
            cursor.execute(f"GRANT {grant.privileges} ON TABLE {qn(grant.table)} TO {grantee}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {grantee}")
        # What REVOKE cannot take away: grants to PUBLIC, through another
        # role, or by a grantor other than the owner.
        for table in APPEND_ONLY_TABLES:
            if table in tables:
                extra = _extra_privileges(cursor, table, role)
                if extra:
                    raise ValueError(
                        f"{role!r} still holds {', '.join(extra)} on {table} after the grants "
                        "(through PUBLIC, another role, or another grantor): revoke it there"
                    )
    return grants


def create_role(role: str, password: str | None = None, connection=default_connection) -> bool:
    """Create ``role`` as a plain login role (no superuser, no CREATEDB, no
    CREATEROLE, inheriting nothing) unless it exists. Returns whether it was
    created. Needs a connection allowed to create roles."""
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if _is_superuser(cursor, role) is not None:
            return False
        options = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"
        if password is None:
            cursor.execute(f"CREATE ROLE {qn(role)} {options}")
        else:
            # Utility statements take no parameters: quote the literal ourselves.
            literal = "'" + password.replace("'", "''") + "'"
            cursor.execute(f"CREATE ROLE {qn(role)} {options} PASSWORD {literal}")
    return True


def privilege_problems(connection=default_connection) -> list[str]:
    """Why the connected role could rewrite the ledger ([] when it cannot).

    For each existing append-only table: the role is a superuser, owns it or
    inherits from its owner (so it may disable or drop the trigger), or holds
    TRUNCATE, UPDATE, DELETE, TRIGGER or REFERENCES on it.
    """
    if connection.vendor != "postgresql":
        return []
    problems = []
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        user, superuser = cursor.fetchone()
        if superuser:
            return [f"the application connects as {user!r}, a superuser"]
        for table in APPEND_ONLY_TABLES:
            cursor.execute(
                "SELECT pg_get_userbyid(c.relowner), "
                "pg_has_role(current_user, c.relowner, 'USAGE') "
                "FROM pg_class c WHERE c.oid = to_regclass(%s)",
                [table],
            )
            row = cursor.fetchone()
            if row is None:
                continue
            owner, owns = row
            if owns:
                how = "owns" if owner == user else f"inherits from {owner!r}, the owner of"
                problems.append(
                    f"the application role {user!r} {how} {table} "
                    "(it can disable or drop the append-only trigger)"
                )
                continue
            extra = _extra_privileges(cursor, table)
            if extra:
                problems.append(
                    f"the application role {user!r} holds {', '.join(extra)} on {table} "
                    "(it should hold only SELECT, INSERT)"
                )
    return problems


FORBIDDEN_ON_APPEND_ONLY = ("TRUNCATE", "UPDATE", "DELETE", "TRIGGER", "REFERENCES")


def _extra_privileges(cursor, table: str, role: str | None = None) -> list[str]:
    """The privileges beyond SELECT, INSERT that ``role`` (default: the
    connected role) holds on ``table``, however it got them."""
    extra = []
    for privilege in FORBIDDEN_ON_APPEND_ONLY:
        if role is None:
            cursor.execute("SELECT has_table_privilege(%s, %s)", [table, privilege])
        else:
            cursor.execute("SELECT has_table_privilege(%s, %s, %s)", [role, table, privilege])
        if cursor.fetchone()[0]:
            extra.append(privilege)
    return extra
