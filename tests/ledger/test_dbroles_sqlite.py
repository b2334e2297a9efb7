"""On SQLite there are no database roles: the deploy check says nothing and
setup_db_roles explains why it cannot run."""

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from disclosure.ledger.checks import check_application_role

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _sqlite_only():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite behaviour")


def test_deploy_check_is_silent_on_sqlite():
    assert check_application_role() == []


def test_setup_db_roles_needs_postgresql():
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("setup_db_roles", "--app-role", "disclosure_app")
