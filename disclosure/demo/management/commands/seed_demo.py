"""python manage.py seed_demo [--force]: create the demo organizations, users and cases."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from disclosure.accounts.models import Role
from disclosure.core.errors import DomainError
from disclosure.demo.seed import DEMO_PASSWORD, DEMO_TOTP_BASE32, seed_demo


class Command(BaseCommand):
    help = (
        "Create the demo data (idempotent): the firm, the vendors Contoso and Fabrikam, one "
        "user per role with a shared known password, a case modelled on the 2022 BlueBleed "
        "exposure and one case at every other stage. Refuses to run when DEBUG is False "
        "unless --force is given."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="run even though DEBUG is False (the demo users share a published password)",
        )

    def handle(self, *args, force: bool, **options) -> None:
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo refuses to run with DEBUG=False: it creates users whose password "
                f"({DEMO_PASSWORD!r}) is published, including a superuser. "
                "Pass --force if this really is a demo installation."
            )
        try:
            result = seed_demo()
        except DomainError as exc:
            raise CommandError(f"Nothing was written: {exc.message}") from exc

        created = sum(c.created for c in result.cases)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready: {created} case(s) created, "
                f"{len(result.cases) - created} already present."
            )
        )
        self.stdout.write("\nDemo logins:")
        self._table(
            ("username", "role", "organization", "password"),
            [(u.username, u.role, u.organization, u.password) for u in result.logins],
        )
        site = getattr(settings, "DISCLOSURE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        contacts = [u for u in result.logins if u.role == Role.VENDOR_CONTACT.label]
        self.stdout.write(f"\nStaff UI: {site}/  (sign in with a staff login above)")
        if settings.DISCLOSURE_STAFF_MFA_REQUIRED:
            self.stdout.write(
                "Second factor: staff are asked for a code; `python manage.py demo_totp` prints "
                f"the current one (or add the key {DEMO_TOTP_BASE32} to an authenticator app)."
            )
        self.stdout.write(
            f"Vendor portal: {site}{reverse('portal:login')}  (vendor contacts only; each sees "
            "only their organization's notified cases)"
        )
        self._table(
            ("portal login", "organization", "password"),
            [(u.username, u.organization, u.password) for u in contacts],
        )
        if result.unreachable:
            self.stdout.write(
                "The demo's re-probes and webhook receiver are left out: this machine is not "
                "among DISCLOSURE_FETCH_ALLOWED_NETWORKS (make seed sets it): "
                + ", ".join(result.unreachable)
            )
        else:
            self.stdout.write(
                "Watchers: with the server running, `python manage.py run_watchers` records the "
                "silent case's missed deadlines, re-probes two demo assets and sends the events "
                "to the demo webhook receiver (as demo-admin: API tokens, then Webhooks, shows "
                "the deliveries)."
            )
        self.stdout.write("\nDemo cases:")
        self._table(
            ("reference", "stage", "vendor", "title", "status"),
            [
                (c.reference, c.stage, c.vendor, c.title, "new" if c.created else "existing")
                for c in result.cases
            ],
        )

    def _table(self, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            line = "  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True))
            self.stdout.write("  " + line.rstrip())
