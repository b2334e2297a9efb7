"""python manage.py setup_db_roles --app-role NAME [--create [--password-env VAR]]

Run as the tables' owner after every ``migrate``: gives the application's
PostgreSQL role its privileges (``SELECT, INSERT`` only on the ledger tables).
"""

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from disclosure.ledger import dbroles


class Command(BaseCommand):
    help = (
        "Grant the application's PostgreSQL role its privileges: SELECT, INSERT only on the "
        f"append-only ledger tables ({', '.join(dbroles.APPEND_ONLY_TABLES)}), SELECT on "
        "django_migrations, SELECT, INSERT, UPDATE, DELETE on the others. Idempotent; run it "
        "connected as the owner (DATABASE_URL) after every migrate."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--app-role", required=True, help="the role the application uses")
        parser.add_argument(
            "--create",
            action="store_true",
            help="create the role (LOGIN, no other attribute) if it does not exist",
        )
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="with --create: the environment variable holding the new role's password",
        )

    def handle(self, *args, app_role: str, create: bool, password_env: str | None, **options):
        if connection.vendor != "postgresql":
            raise CommandError("setup_db_roles needs PostgreSQL (DATABASE_URL=postgres://...)")
        if create:
            password = None
            if password_env:
                password = os.environ.get(password_env)
                if not password:
                    raise CommandError(f"--password-env: {password_env} is not set")
            if dbroles.create_role(app_role, password):
                self.stdout.write(f"Created role {app_role}.")
        try:
            grants = dbroles.grant_app_role(app_role)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        append_only = [g.table for g in grants if g.privileges == dbroles.APPEND_ONLY]
        ledger = ", ".join(append_only) or "no ledger table (migrate first)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Role {app_role}: privileges set on {len(grants)} tables; "
                f"SELECT, INSERT only on {ledger}."
            )
        )
