"""On the PostgreSQL demo, verify_ledger exits non-zero after each of issue
15's findings 5-7, with a message naming what changed: the append-only
trigger enabled only for replicas, its function replaced by a no-op, the
checkpoint rows deleted while the anchor directory holds them, and a
policy's terms edited in SQL. The demo database is built by the migrations,
so the trigger and function are exactly as they install them; each change
runs in its own savepoint and is undone before the next."""

import pytest
from django.db import connection, transaction

from disclosure.demo.seed import seed_demo
from disclosure.ledger.checkpoints import write_checkpoint
from tests.ledger.tampering import run_verify, sql

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOOP_FUNCTION = """
CREATE OR REPLACE FUNCTION ledger_caseevent_append_only() RETURNS trigger AS $$
BEGIN
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
"""

CHANGES = [
    (
        "finding 5: ENABLE REPLICA TRIGGER",
        "ALTER TABLE ledger_caseevent ENABLE REPLICA TRIGGER ledger_caseevent_append_only",
        "LEDGER: the append-only trigger ledger_caseevent_append_only on ledger_caseevent is "
        "enabled only for replica sessions (ENABLE REPLICA TRIGGER)",
    ),
    (
        "finding 5: a no-op function",
        NOOP_FUNCTION,
        "LEDGER: the function ledger_caseevent_append_only() of the append-only trigger on "
        "ledger_caseevent was replaced (CREATE OR REPLACE FUNCTION)",
    ),
    (
        "finding 6: checkpoint rows deleted",
        "DELETE FROM ledger_checkpoint",
        "LEDGER: the database has no checkpoint #1, but the anchor directory has "
        "checkpoint-00000001.json (checkpoint rows were deleted)",
    ),
    (
        "finding 7: a policy's terms edited",
        "UPDATE cases_disclosurepolicy SET days_to_secure = 200",
        "policy 'Standard 90' now says days_to_secure 200",
    ),
]


class _Undo(Exception):
    pass


@pytest.fixture
def demo(settings, django_capture_on_commit_callbacks):
    settings.DEBUG = True
    seed_demo()
    with django_capture_on_commit_callbacks(execute=True):  # the anchor file
        assert write_checkpoint().checkpoint.seq == 1
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for nothing


def test_the_demo_verifies_before_any_change(demo):
    code, output = run_verify()
    assert code == 0, output


@pytest.mark.parametrize(("change", "statement", "expected"), CHANGES, ids=[c[0] for c in CHANGES])
def test_each_change_fails_verify_ledger_naming_it(demo, change, statement, expected):
    try:
        with transaction.atomic():
            sql(statement)
            code, output = run_verify()
            raise _Undo
    except _Undo:
        pass

    assert code == 1, output
    assert expected in output
    code, output = run_verify()  # undone: intact again
    assert code == 0, output
