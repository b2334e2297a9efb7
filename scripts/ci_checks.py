#!/usr/bin/env python3
"""Checks that .ci/run makes around the test suite (standard library, plus
psycopg and redis from the project's virtualenv).

    ci_checks.py services
        Wait for PostgreSQL (DATABASE_URL) and Redis (CELERY_BROKER_URL);
        check that the PostgreSQL role may create the test database
        (pytest-django creates ``test_<name>`` itself) and that the server
        is PostgreSQL 15 or newer.

    ci_checks.py junit REPORT.xml MARKED.txt
        Fail unless the JUnit report holds at least one test, no failures,
        and every test listed in MARKED.txt (node ids of the tests marked
        postgres/browser/redis, from ``pytest --collect-only -q -m ...``)
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
        problems.append("no tests are marked postgres/browser/redis: CI requires them")
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
        f"all {len(marked)} tests marked postgres/browser/redis ran and passed"
    )
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["services"]:
        return check_services()
    if argv[:1] == ["junit"] and len(argv) == 3:
        return check_junit(argv[1], argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
