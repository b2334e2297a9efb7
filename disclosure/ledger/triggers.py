"""The PostgreSQL guards of the append-only ledger tables, as verify_ledger checks them.

Migrations 0001, 0002 and 0004 install, for each append-only table, a trigger that
fires ``BEFORE UPDATE OR DELETE ... FOR EACH ROW`` and a PL/pgSQL function
that raises. An owner or superuser can neuter that guard without removing
it: ``ALTER TABLE ... DISABLE TRIGGER``, ``ENABLE REPLICA TRIGGER`` (it then
fires only for sessions in replica mode, that is never for the
application), a ``WHEN`` condition or fewer events on a re-created trigger,
``CREATE OR REPLACE FUNCTION`` with a body that does nothing, or
``session_replication_role = replica`` set for the role or database.

``trigger_problems`` compares what the database holds with what the
migrations installed: the trigger exists on its table, fires in the
ordinary (origin) mode, for exactly UPDATE and DELETE, before each row,
unconditionally, through the function of that name, whose language is
PL/pgSQL and whose body is, character for character, the body written in the
migration (read from the migration module itself, so there is one copy).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

from django.db import connection as default_connection

# tgtype bits (PostgreSQL's pg_trigger.h): ROW 1, BEFORE 2, INSERT 4,
# DELETE 8, UPDATE 16, TRUNCATE 32, INSTEAD 64.
ROW_BEFORE_UPDATE_OR_DELETE = 1 | 2 | 8 | 16

# tgenabled: 'O' fires in origin (normal) mode, 'A' always; 'R' only in
# replica mode, 'D' never.
_FIRING_MODES = {"O", "A"}
_MODE_NAMES = {
    "D": "disabled",
    "R": "enabled only for replica sessions (ENABLE REPLICA TRIGGER): it never fires "
    "for the application",
}


@dataclass(frozen=True)
class Guard:
    table: str
    trigger: str
    function: str
    migration: str  # the module whose APPEND_ONLY_SQL installs it

    def expected_body(self) -> str:
        """The function's body (what PostgreSQL keeps as ``prosrc``) as the
        migration wrote it."""
        sql = importlib.import_module(self.migration).APPEND_ONLY_SQL
        pattern = (
            rf"CREATE OR REPLACE FUNCTION {re.escape(self.function)}\(\) RETURNS trigger "
            r"AS \$\$(.*?)\$\$"
        )
        match = re.search(pattern, sql, re.DOTALL)
        if match is None:  # a migration was changed: this module must follow it
            raise LookupError(f"{self.migration} does not define {self.function}()")
        return match.group(1)


GUARDS = (
    Guard(
        "ledger_caseevent",
        "ledger_caseevent_append_only",
        "ledger_caseevent_append_only",
        "disclosure.ledger.migrations.0001_initial",
    ),
    Guard(
        "ledger_checkpoint",
        "ledger_checkpoint_append_only",
        "ledger_checkpoint_append_only",
        "disclosure.ledger.migrations.0002_checkpoints_state_format",
    ),
    Guard(
        "ledger_checkpointtimestamp",
        "ledger_checkpointtimestamp_append_only",
        "ledger_checkpointtimestamp_append_only",
        "disclosure.ledger.migrations.0004_checkpoint_timestamp",
    ),
)


def _guard_problems(guard: Guard, row: tuple | None) -> list[str]:
    name, table = guard.trigger, guard.table
    if row is None:
        return [f"the append-only trigger {name} on {table} is missing"]
    enabled, tgtype, has_when, columns, function, language, body, nargs = row
    problems = []
    if enabled not in _FIRING_MODES:
        mode = _MODE_NAMES.get(enabled, f"in mode {enabled!r}")
        problems.append(f"the append-only trigger {name} on {table} is {mode}")
    if tgtype != ROW_BEFORE_UPDATE_OR_DELETE or has_when or columns:
        problems.append(
            f"the append-only trigger {name} on {table} was re-created differently: it no "
            "longer fires before every UPDATE and DELETE of each row, unconditionally"
        )
    if function != guard.function or nargs:
        problems.append(
            f"the append-only trigger {name} on {table} calls {function}() instead of "
            f"{guard.function}()"
        )
    elif language != "plpgsql" or body != guard.expected_body():
        problems.append(
            f"the function {function}() of the append-only trigger on {table} was replaced "
            "(CREATE OR REPLACE FUNCTION): its definition is not the one the migrations "
            "installed"
        )
    return problems


def _replica_mode_problems(cursor) -> list[str]:
    """``session_replication_role = replica`` switches every ordinary trigger
    off; the application's sessions must run in the origin mode."""
    problems = []
    cursor.execute("SELECT current_setting('session_replication_role')")
    mode = cursor.fetchone()[0]
    if mode != "origin":
        problems.append(
            f"this session runs with session_replication_role = {mode}: the append-only "
            "triggers do not fire"
        )
    cursor.execute(
        "SELECT COALESCE(r.rolname, '(every role)'), s.setting FROM pg_db_role_setting d "
        "CROSS JOIN LATERAL unnest(d.setconfig) AS s(setting) "
        "LEFT JOIN pg_roles r ON r.oid = d.setrole "
        "WHERE d.setdatabase IN (0, (SELECT oid FROM pg_database "
        "WHERE datname = current_database())) "
        "AND s.setting LIKE 'session\\_replication\\_role=%' "
        "AND s.setting <> 'session_replication_role=origin' ORDER BY 1"
    )
    for role, setting in cursor.fetchall():
        problems.append(
            f"{setting} is set for {role} (ALTER ROLE/DATABASE ... SET): the append-only "
            "triggers do not fire in those sessions"
        )
    return problems


def trigger_problems(connection=default_connection) -> list[str]:
    """On PostgreSQL, how the append-only guards differ from what the
    migrations installed ([] when they are intact, and on other databases)."""
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname, t.tgenabled, t.tgtype, t.tgqual IS NOT NULL, "
            "array_length(t.tgattr, 1), p.proname, l.lanname, p.prosrc, p.pronargs "
            "FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_proc p ON p.oid = t.tgfoid "
            "JOIN pg_language l ON l.oid = p.prolang "
            "WHERE n.nspname = current_schema() AND t.tgname = ANY(%s)",
            [[g.trigger for g in GUARDS]],
        )
        found = {(row[0], row[1]): row[2:] for row in cursor.fetchall()}
        problems = []
        for guard in GUARDS:
            problems += _guard_problems(guard, found.get((guard.table, guard.trigger)))
        problems += _replica_mode_problems(cursor)
    return problems
