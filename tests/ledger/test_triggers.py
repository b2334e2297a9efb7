"""verify_ledger notices an append-only guard that was neutered without
being removed (issue 15, finding 5). The test database is built by the
migrations, so the triggers and functions are exactly the ones they install;
each test neuters them one way inside its own transaction."""

import pytest
from django.db import connection, transaction

from disclosure.cases.stages import Stage
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.triggers import GUARDS, trigger_problems
from tests.factories import make_case
from tests.ledger.tampering import run_verify

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOOP_FUNCTION = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    RETURN COALESCE(NEW, OLD);
END;
$$ LANGUAGE plpgsql;
"""


def sql(statement: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement)


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def test_the_guards_as_migrations_install_them_have_no_problem(case):
    assert trigger_problems() == []
    code, output = run_verify()
    assert code == 0, output


def test_the_expected_bodies_are_read_from_the_migrations():
    bodies = [guard.expected_body() for guard in GUARDS]
    assert "RAISE EXCEPTION 'ledger_caseevent is append-only" in bodies[0]
    assert "RAISE EXCEPTION 'ledger_checkpoint is append-only" in bodies[1]


def test_a_trigger_enabled_only_for_replicas_is_reported(case):
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred check
    sql("ALTER TABLE ledger_caseevent ENABLE REPLICA TRIGGER ledger_caseevent_append_only")

    code, output = run_verify()

    assert code == 1
    assert (
        "LEDGER: the append-only trigger ledger_caseevent_append_only on ledger_caseevent is "
        "enabled only for replica sessions (ENABLE REPLICA TRIGGER): it never fires for the "
        "application"
    ) in output
    # What the check is for: the application's UPDATE now goes through.
    CaseEvent.objects.filter(case=case, seq=1).update(kind="forged")
    assert CaseEvent.objects.get(case=case, seq=1).kind == "forged"


def test_a_no_op_function_is_reported(case):
    sql(NOOP_FUNCTION.format(name="ledger_caseevent_append_only"))

    code, output = run_verify()

    assert code == 1
    assert (
        "LEDGER: the function ledger_caseevent_append_only() of the append-only trigger on "
        "ledger_caseevent was replaced (CREATE OR REPLACE FUNCTION): its definition is not "
        "the one the migrations installed"
    ) in output
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM ledger_caseevent WHERE case_id = %s", [case.pk])
    assert not CaseEvent.objects.filter(case=case).exists()


def test_the_checkpoint_guard_is_checked_too():
    sql(NOOP_FUNCTION.format(name="ledger_checkpoint_append_only"))
    sql("ALTER TABLE ledger_checkpoint DISABLE TRIGGER ledger_checkpoint_append_only")

    assert trigger_problems() == [
        "the append-only trigger ledger_checkpoint_append_only on ledger_checkpoint is disabled",
        "the function ledger_checkpoint_append_only() of the append-only trigger on "
        "ledger_checkpoint was replaced (CREATE OR REPLACE FUNCTION): its definition is not "
        "the one the migrations installed",
    ]


def test_a_trigger_re_created_for_update_only_is_reported():
    sql("DROP TRIGGER ledger_caseevent_append_only ON ledger_caseevent")
    sql(
        "CREATE TRIGGER ledger_caseevent_append_only BEFORE UPDATE ON ledger_caseevent "
        "FOR EACH ROW EXECUTE FUNCTION ledger_caseevent_append_only()"
    )

    assert trigger_problems() == [
        "the append-only trigger ledger_caseevent_append_only on ledger_caseevent was "
        "re-created differently: it no longer fires before every UPDATE and DELETE of each "
        "row, unconditionally"
    ]


def test_a_trigger_with_a_false_condition_is_reported():
    sql("DROP TRIGGER ledger_caseevent_append_only ON ledger_caseevent")
    sql(
        "CREATE TRIGGER ledger_caseevent_append_only BEFORE UPDATE OR DELETE ON "
        "ledger_caseevent FOR EACH ROW WHEN (false) "
        "EXECUTE FUNCTION ledger_caseevent_append_only()"
    )

    assert trigger_problems() == [
        "the append-only trigger ledger_caseevent_append_only on ledger_caseevent was "
        "re-created differently: it no longer fires before every UPDATE and DELETE of each "
        "row, unconditionally"
    ]


def test_a_trigger_pointed_at_another_function_is_reported():
    sql(NOOP_FUNCTION.format(name="innocent_looking"))
    sql("DROP TRIGGER ledger_caseevent_append_only ON ledger_caseevent")
    sql(
        "CREATE TRIGGER ledger_caseevent_append_only BEFORE UPDATE OR DELETE ON "
        "ledger_caseevent FOR EACH ROW EXECUTE FUNCTION innocent_looking()"
    )

    assert trigger_problems() == [
        "the append-only trigger ledger_caseevent_append_only on ledger_caseevent calls "
        "innocent_looking() instead of ledger_caseevent_append_only()"
    ]


def test_a_dropped_trigger_is_reported():
    sql("DROP TRIGGER ledger_checkpoint_append_only ON ledger_checkpoint")

    assert trigger_problems() == [
        "the append-only trigger ledger_checkpoint_append_only on ledger_checkpoint is missing"
    ]


def test_replica_mode_set_for_the_database_is_reported():
    # ALTER DATABASE ... SET is transactional: the test's rollback undoes it.
    sql(f"ALTER DATABASE {connection.settings_dict['NAME']} SET session_replication_role = replica")

    assert trigger_problems() == [
        "session_replication_role=replica is set for (every role) (ALTER ROLE/DATABASE ... "
        "SET): the append-only triggers do not fire in those sessions"
    ]


def test_a_session_in_replica_mode_is_reported():
    with transaction.atomic():
        sql("SET LOCAL session_replication_role = replica")
        assert trigger_problems() == [
            "this session runs with session_replication_role = replica: the append-only "
            "triggers do not fire"
        ]
