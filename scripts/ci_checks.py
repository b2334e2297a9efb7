#!/usr/bin/env python3
"""Checks that .ci/run makes around the test suite (standard library, plus
psycopg and redis from the project's virtualenv).

    ci_checks.py services
        Wait for PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL);
        check that the PostgreSQL role may create the test database
        (pytest-django creates ``test_<name>`` itself) and that the server
        is PostgreSQL 15 or newer.

    ci_checks.py roles
        As DATABASE_URL's (superuser) role, create the owner and application
        roles idempotently (CI_DB_OWNER, default disclosure_owner; CI_DB_APP,
        default disclosure_app; passwords CI_DB_OWNER_PASSWORD and
        CI_DB_APP_PASSWORD) and a fresh database (CI_DB_NAME, default
        disclosure_ci) owned by the owner. Prints "OWNER_URL APP_URL".

    ci_checks.py app-role-refused
        Connected with DATABASE_URL (the application role), check that
        TRUNCATE, DISABLE TRIGGER, DROP TRIGGER, UPDATE and DELETE on the
        ledger (and TRUNCATE, DISABLE TRIGGER, DELETE on its checkpoints) are
        refused for lack of privilege, and that SELECT works.

    ci_checks.py junit REPORT.xml MARKED.txt
        Fail unless the JUnit report holds at least one test, no failures,
        and every test listed in MARKED.txt (node ids of the tests marked
        postgres/browser/redis/mail, from ``pytest --collect-only -q -m ...``)
        ran and passed: none of them may be skipped in CI.
"""

from __future__ import annotations

import os
import sys
import time
import xml.etree.ElementTree as ET

WAIT_SECONDS = 60
# Skip reasons from tests/conftest.py: a skip with one of these in CI is a failure.
REQUIRED_SKIP_REASONS = (
    "needs PostgreSQL",
    "needs Chromium",
    "needs the playwright",
    "needs CELERY_BROKER_URL",
    "needs Dovecot",
    "needs openssl",
)


def _retry(what: str, attempt):
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            return attempt()
        except Exception as exc:
            if time.monotonic() > deadline:
                raise SystemExit(f"ci: {what} not reachable after {WAIT_SECONDS}s: {exc}") from exc
            time.sleep(1)


def check_services() -> int:
    import psycopg
    import redis
    from psycopg.conninfo import make_conninfo

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit(f"ci: DATABASE_URL must point at PostgreSQL, got {url!r}")
    # Connect to the maintenance database, as Django does to create test_<name>.
    conninfo = make_conninfo(url, dbname="postgres", connect_timeout=5)

    def pg_check():
        with psycopg.connect(conninfo, autocommit=True) as conn:
            version = conn.info.server_version
            row = conn.execute(
                "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
            return version, bool(row and row[0]), conn.info.user

    version, may_create, user = _retry("PostgreSQL", pg_check)
    if version < 150000:
        raise SystemExit(f"ci: PostgreSQL 15+ is needed, server is {version}")
    if not may_create:
        raise SystemExit(f"ci: role {user!r} may not create databases (needs CREATEDB)")
    print(f"ci: PostgreSQL {version // 10000}.{version % 10000} reachable; {user!r} may create DBs")

    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith(("redis://", "rediss://")):
        raise SystemExit(f"ci: CELERY_BROKER_URL must point at Redis, got {broker!r}")

    def redis_check():
        client = redis.Redis.from_url(broker, socket_connect_timeout=5)
        try:
            client.ping()
            return client.info("server").get("redis_version")
        finally:
            client.close()

    print(f"ci: Redis {_retry('Redis', redis_check)} reachable at {broker}")
    return 0


def _role_url(base: str, user: str, password: str, dbname: str) -> str:
    from urllib.parse import quote, urlsplit, urlunsplit

    parts = urlsplit(base)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}:{parts.port or 5432}"
    return urlunsplit((parts.scheme, netloc, f"/{dbname}", parts.query, ""))


def create_roles() -> int:
    """Owner and application roles (plain LOGIN roles, neither a member of
    the other) and a fresh database owned by the owner."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    url = os.environ["DATABASE_URL"]
    owner = os.environ.get("CI_DB_OWNER", "disclosure_owner")
    app = os.environ.get("CI_DB_APP", "disclosure_app")
    owner_password = os.environ.get("CI_DB_OWNER_PASSWORD", "disclosure-ci-owner")
    app_password = os.environ.get("CI_DB_APP_PASSWORD", "disclosure-ci-app")
    dbname = os.environ.get("CI_DB_NAME", "disclosure_ci")
    attributes = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
    with psycopg.connect(make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        for role, password in ((owner, owner_password), (app, app_password)):
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
            verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
            conn.execute(
                sql.SQL("{} {} {} PASSWORD {}").format(
                    verb, sql.Identifier(role), attributes, sql.Literal(password)
                )
            )
        # neither inherits the other's privileges (ownership must not leak to the app)
        for member, group in ((app, owner), (owner, app)):
            conn.execute(
                sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), sql.Identifier(member))
            )
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(owner)
            )
        )
    print(f"ci: roles {owner} (owner) and {app} (application); database {dbname}", file=sys.stderr)
    print(_role_url(url, owner, owner_password, dbname), _role_url(url, app, app_password, dbname))
    return 0


def check_app_role_refused() -> int:
    """The application role may read the ledger but not rewrite it."""
    import psycopg
    from psycopg.errors import InsufficientPrivilege

    statements = [
        "TRUNCATE ledger_caseevent",
        "ALTER TABLE ledger_caseevent DISABLE TRIGGER ALL",
        "ALTER TABLE ledger_caseevent DISABLE TRIGGER ledger_caseevent_append_only",
        "DROP TRIGGER ledger_caseevent_append_only ON ledger_caseevent",
        "UPDATE ledger_caseevent SET kind = kind",
        "DELETE FROM ledger_caseevent",
        "TRUNCATE ledger_checkpoint",
        "ALTER TABLE ledger_checkpoint DISABLE TRIGGER ALL",
        "DELETE FROM ledger_checkpoint",
    ]
    problems = []
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        user = conn.execute("SELECT current_user").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM ledger_caseevent").fetchone()[0]
        if not events:
            problems.append("the ledger is empty: seed_demo did not write through this role")
        for statement in statements:
            try:
                conn.execute(statement)
            except InsufficientPrivilege as exc:
                print(f"ci: refused as {user}: {statement}: {str(exc).strip()}")
            else:
                problems.append(f"{statement!r} was ALLOWED as {user}")
        if conn.execute("SELECT count(*) FROM ledger_caseevent").fetchone()[0] != events:
            problems.append("the number of ledger events changed")
    if problems:
        print("ci: FAIL: the application role can rewrite the ledger", file=sys.stderr)
        for line in problems:
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"ci: {user} reads {events} ledger events and cannot truncate or untrigger them")
    return 0


def _junit_key(node_id: str) -> str:
    """A pytest node id as JUnit names it: ``tests/a/test_b.py::C::t[x]`` is
    classname ``tests.a.test_b.C``, name ``t[x]``."""
    path, *rest = node_id.split("::")
    module = path.removesuffix(".py").replace("/", ".")
    return ".".join([module, *rest[:-1]]) + "::" + rest[-1]


def check_junit(report: str, marked_file: str) -> int:
    if not os.path.exists(report):
        print(f"ci: FAIL: no JUnit report at {report} (pytest did not run)", file=sys.stderr)
        return 1
    outcome: dict[str, str] = {}
    problems: list[str] = []
    for case in ET.parse(report).getroot().iter("testcase"):
        node = f"{case.get('classname', '')}::{case.get('name', '')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcome[node] = "failed"
        elif (skip := case.find("skipped")) is not None:
            outcome[node] = "skipped"
            message = skip.get("message") or skip.text or ""
            if any(reason in message for reason in REQUIRED_SKIP_REASONS):
                problems.append(f"skipped in CI: {node}: {message.strip()}")
        else:
            outcome[node] = "passed"
    if not outcome:
        problems.append("the report holds no tests (pytest exit code 5: no tests ran)")
    failed = [n for n, o in outcome.items() if o == "failed"]
    if failed:
        problems.append(f"{len(failed)} test(s) failed or errored")

    with open(marked_file) as fh:
        marked = [line.strip() for line in fh if "::" in line]
    if not marked:
        problems.append("no tests are marked postgres/browser/redis/mail: CI requires them")
    for node in marked:
        state = outcome.get(_junit_key(node), "missing from the report")
        if state != "passed":
            problems.append(f"required test not passed ({state}): {node}")

    if problems:
        print("ci: FAIL", file=sys.stderr)
        for line in dict.fromkeys(problems):
            print(f"  - {line}", file=sys.stderr)
        return 1
    counts = {o: sum(1 for v in outcome.values() if v == o) for o in ("passed", "skipped")}
    print(
        f"ci: {counts['passed']} passed, {counts['skipped']} skipped; "
        f"all {len(marked)} tests marked postgres/browser/redis/mail ran and passed"
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["services"]:
        return check_services()
    if argv[:1] == ["roles"]:
        return create_roles()
    if argv[:1] == ["app-role-refused"]:
        return check_app_role_refused()
    if argv[:1] == ["junit"] and len(argv) == 3:
        return check_junit(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
