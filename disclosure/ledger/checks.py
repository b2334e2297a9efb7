"""Deploy checks (``manage.py check --deploy``) for the ledger's database role."""

from django.core.checks import Tags, Warning, register
from django.db import DatabaseError, connection

from . import dbroles


@register("ledger", Tags.security, deploy=True)
def check_application_role(app_configs=None, **kwargs):
    """Warn when the role the application connects as could rewrite the
    ledger: it owns an append-only table (or inherits from its owner), is a
    superuser, or holds TRUNCATE/UPDATE/DELETE on it. PostgreSQL only."""
    if connection.vendor != "postgresql":
        return []
    try:
        problems = dbroles.privilege_problems(connection)
    except DatabaseError as exc:
        return [
            Warning(
                f"Could not check the database role's privileges on the ledger: {exc}",
                id="ledger.W002",
            )
        ]
    hint = (
        "Run migrations as the owner, connect the application as another role and grant it "
        "with `manage.py setup_db_roles --app-role NAME` (see README, Database roles)."
    )
    return [Warning(problem, hint=hint, id="ledger.W001") for problem in problems]
