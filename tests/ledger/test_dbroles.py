"""PostgreSQL roles: the application's role reads and appends to the ledger
but can neither truncate it nor disable or drop its trigger; the deploy check
warns when the connected role could.

Roles are cluster-wide: each test creates its own uniquely named roles inside
the test's transaction (CREATE ROLE is transactional in PostgreSQL) and drops
them at the end, so parallel runs never meet."""

import uuid
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import ProgrammingError, connection, transaction

from disclosure.cases.stages import Stage
from disclosure.ledger import dbroles
from disclosure.ledger.checks import check_application_role
from disclosure.ledger.models import CaseEvent
from tests.factories import make_case

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def refused(statement: str) -> str:
    """Run ``statement`` in a savepoint; it must fail: return PostgreSQL's message."""
    with pytest.raises(ProgrammingError) as info, transaction.atomic():
        sql(statement)
    return str(info.value)


@contextmanager
def as_role(role: str):
    sql(f"SET ROLE {connection.ops.quote_name(role)}")
    try:
        yield
    finally:
        sql("RESET ROLE")


def new_role(prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    sql(f"CREATE ROLE {name} NOLOGIN")
    return name


def drop_role(name: str) -> None:
    sql(f"DROP OWNED BY {name}")
    sql(f"DROP ROLE {name}")


@pytest.fixture
def app_role():
    name = new_role("disclosure_app_test")
    dbroles.grant_app_role(name)
    yield name
    drop_role(name)


@pytest.fixture
def owner_role():
    """A non-superuser role that owns the ledger table (as in production)."""
    name = new_role("disclosure_owner_test")
    sql(f"ALTER TABLE ledger_caseevent OWNER TO {name}")
    yield name
    sql("ALTER TABLE ledger_caseevent OWNER TO CURRENT_USER")
    drop_role(name)


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def test_the_app_role_runs_the_services_and_reads_the_ledger(app_role, analyst, vendor):
    with as_role(app_role):
        assert sql("SELECT current_user") == [(app_role,)]
        case = make_case(Stage.SECURED, actor=analyst, vendor=vendor)
        kinds = [
            k
            for (k,) in sql(
                "SELECT kind FROM ledger_caseevent WHERE case_id = %s ORDER BY seq", [case.pk]
            )
        ]
        assert kinds[0] == "case_opened"
        assert len(kinds) >= 3
        sql("UPDATE cases_case SET title = title WHERE id = %s", [case.pk])


def test_the_app_role_writes_a_checkpoint(app_role, case, settings, tmp_path):
    """The hourly beat task runs as the application role: checkpoints must not
    need more than SELECT, INSERT on the ledger tables (no SELECT ... FOR UPDATE,
    which needs UPDATE)."""
    from disclosure.ledger.checkpoints import write_checkpoint

    settings.DISCLOSURE_ANCHOR_DIR = tmp_path / "anchor"
    with as_role(app_role):
        result = write_checkpoint()
    assert result.problems == []
    assert result.checkpoint is not None
    assert result.checkpoint.entries == [[case.reference, case.ledger_seq, case.ledger_head]]


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        ("TRUNCATE ledger_caseevent", "permission denied for table ledger_caseevent"),
        ("TRUNCATE cases_case CASCADE", "permission denied for table cases_case"),
        (
            "ALTER TABLE ledger_caseevent DISABLE TRIGGER ALL",
            "must be owner of table ledger_caseevent",
        ),
        (
            "ALTER TABLE ledger_caseevent DISABLE TRIGGER ledger_caseevent_append_only",
            "must be owner of table ledger_caseevent",
        ),
        (
            "DROP TRIGGER ledger_caseevent_append_only ON ledger_caseevent",
            "must be owner of relation ledger_caseevent",
        ),
        ("DROP TABLE ledger_caseevent", "must be owner of table ledger_caseevent"),
        ("UPDATE ledger_caseevent SET kind = kind", "permission denied for table ledger_caseevent"),
        ("DELETE FROM ledger_caseevent", "permission denied for table ledger_caseevent"),
        (
            "SELECT setval(pg_get_serial_sequence('ledger_caseevent', 'id'), 1)",
            "permission denied for sequence",
        ),
        (
            "INSERT INTO django_migrations (app, name, applied) VALUES ('x', 'y', now())",
            "permission denied for table django_migrations",
        ),
    ],
)
def test_the_app_role_cannot_rewrite_the_ledger(app_role, case, statement, message):
    with as_role(app_role):
        assert message in refused(statement)
    # the owner's trigger is still there and enabled
    assert sql(
        "SELECT tgenabled FROM pg_trigger WHERE tgname = 'ledger_caseevent_append_only'"
    ) == [("O",)]


def test_checkpoint_table_is_append_only_for_the_app_role_when_it_exists(app_role):
    if sql("SELECT to_regclass('ledger_checkpoint')") == [(None,)]:
        pytest.skip("ledger_checkpoint is not migrated yet")
    with as_role(app_role):
        sql("SELECT count(*) FROM ledger_checkpoint")
        for statement in (
            "TRUNCATE ledger_checkpoint",
            "UPDATE ledger_checkpoint SET seq = seq",
            "DELETE FROM ledger_checkpoint",
        ):
            assert "permission denied for table ledger_checkpoint" in refused(statement)


def test_grants_are_exactly_select_insert_on_the_ledger(app_role):
    rows = sql(
        "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type) "
        "FROM information_schema.role_table_grants WHERE grantee = %s "
        "AND table_name IN ('ledger_caseevent', 'cases_case', 'django_migrations') "
        "GROUP BY table_name ORDER BY table_name",
        [app_role],
    )
    assert rows == [
        ("cases_case", "DELETE,INSERT,SELECT,UPDATE"),
        ("django_migrations", "SELECT"),
        ("ledger_caseevent", "INSERT,SELECT"),
    ]


def test_granting_again_tightens_a_role_that_had_more(app_role):
    sql(f"GRANT ALL ON ledger_caseevent TO {app_role}")
    dbroles.grant_app_role(app_role)
    with as_role(app_role):
        assert "permission denied" in refused("TRUNCATE ledger_caseevent")


def test_grant_refuses_to_leave_a_privilege_granted_to_public(app_role):
    sql("GRANT TRUNCATE ON ledger_caseevent TO PUBLIC")
    with pytest.raises(ValueError, match="still holds TRUNCATE on ledger_caseevent"):
        dbroles.grant_app_role(app_role)
    sql("REVOKE TRUNCATE ON ledger_caseevent FROM PUBLIC")


def test_deploy_check_warns_for_a_superuser_and_not_for_the_app_role(app_role):
    # the test suite connects as a superuser
    warnings = check_application_role()
    assert [w.id for w in warnings] == ["ledger.W001"]
    assert "a superuser" in warnings[0].msg
    with as_role(app_role):
        assert check_application_role() == []


def test_deploy_check_warns_when_the_app_connects_as_the_owner(owner_role):
    with as_role(owner_role):
        warnings = check_application_role()
    assert [w.id for w in warnings] == ["ledger.W001"]
    assert f"{owner_role!r} owns ledger_caseevent" in warnings[0].msg
    assert "setup_db_roles" in warnings[0].hint


def test_deploy_check_warns_when_the_app_role_inherits_from_the_owner(owner_role, app_role):
    sql(f"GRANT {owner_role} TO {app_role}")
    with as_role(app_role):
        warnings = check_application_role()
    assert [w.id for w in warnings] == ["ledger.W001"]
    assert f"inherits from {owner_role!r}, the owner of ledger_caseevent" in warnings[0].msg


def test_deploy_check_warns_about_extra_privileges(app_role):
    sql(f"GRANT TRUNCATE, DELETE ON ledger_caseevent TO {app_role}")
    with as_role(app_role):
        warnings = check_application_role()
    assert [w.id for w in warnings] == ["ledger.W001"]
    assert "holds TRUNCATE, DELETE on ledger_caseevent" in warnings[0].msg


def test_deploy_check_is_registered_for_check_deploy():
    from django.core.checks import registry

    assert check_application_role in registry.registry.get_checks(include_deployment_checks=True)
    assert check_application_role not in registry.registry.get_checks()


def test_grant_refuses_a_superuser_a_missing_role_and_an_owner_member(owner_role):
    with pytest.raises(ValueError, match="is a superuser"):
        dbroles.grant_app_role("postgres")
    with pytest.raises(ValueError, match="no PostgreSQL role"):
        dbroles.grant_app_role(f"disclosure_missing_{uuid.uuid4().hex[:12]}")
    member = new_role("disclosure_member_test")
    try:
        sql(f"GRANT {owner_role} TO {member}")
        with pytest.raises(ValueError, match="owns 'ledger_caseevent' or inherits"):
            dbroles.grant_app_role(member)
    finally:
        drop_role(member)


def test_setup_db_roles_creates_and_grants(capsys):
    name = f"disclosure_cmd_test_{uuid.uuid4().hex[:12]}"
    try:
        call_command("setup_db_roles", "--app-role", name, "--create")
        out = capsys.readouterr().out
        assert f"Created role {name}." in out
        assert "SELECT, INSERT only on ledger_caseevent" in out
        assert sql("SELECT rolcanlogin, rolsuper FROM pg_roles WHERE rolname = %s", [name]) == [
            (True, False)
        ]
        call_command("setup_db_roles", "--app-role", name, "--create")  # idempotent
        assert "Created role" not in capsys.readouterr().out
        with as_role(name):
            assert CaseEvent.objects.count() >= 0
            assert "permission denied" in refused("TRUNCATE ledger_caseevent")
    finally:
        drop_role(name)


def test_setup_db_roles_explains_a_missing_role():
    with pytest.raises(CommandError, match="no PostgreSQL role"):
        call_command("setup_db_roles", "--app-role", f"disclosure_none_{uuid.uuid4().hex[:8]}")


def test_setup_db_roles_sets_the_password_from_the_environment(monkeypatch, capsys):
    name = f"disclosure_pw_test_{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("DISCLOSURE_TEST_APP_PASSWORD", "s3cret'quote")
    try:
        call_command(
            "setup_db_roles",
            "--app-role",
            name,
            "--create",
            "--password-env",
            "DISCLOSURE_TEST_APP_PASSWORD",
        )
        [(stored,)] = sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [name])
        assert stored and stored.startswith("SCRAM-SHA-256$")
    finally:
        drop_role(name)


def test_setup_db_roles_refuses_an_unset_password_variable(monkeypatch):
    monkeypatch.delenv("DISCLOSURE_TEST_UNSET", raising=False)
    with pytest.raises(CommandError, match="DISCLOSURE_TEST_UNSET is not set"):
        call_command(
            "setup_db_roles",
            "--app-role",
            "x",
            "--create",
            "--password-env",
            "DISCLOSURE_TEST_UNSET",
        )
