"""Issue an API token for a user and print it (once)."""

from django.core.management.base import BaseCommand, CommandError

from disclosure.accounts.models import User
from disclosure.core.errors import DomainError
from disclosure.tokens import services
from disclosure.tokens.models import Scope


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print its secret (shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help="What the token is for.")
        parser.add_argument("--scope", choices=Scope.values, default=Scope.READ)
        parser.add_argument("--days", type=int, default=services.DEFAULT_DAYS)

    def handle(self, *args, username: str, name: str, scope: str, days: int, **options) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            issued = services.create_token(user=user, name=name, scope=scope, days=days)
        except DomainError as e:
            raise CommandError(e.message) from e
        self.stdout.write(issued.secret)
