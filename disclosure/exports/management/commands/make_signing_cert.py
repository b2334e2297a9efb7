"""python manage.py make_signing_cert [--out DIR]: a development CA and an
export-signing certificate issued by it, as PEM files."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from disclosure.exports.signing import make_development_certificates

FILES = ("ca.pem", "signing-key.pem", "signing-cert.pem")


class Command(BaseCommand):
    help = (
        "Create a development CA and a document-signing certificate issued by it (RSA 3072, "
        "SHA-256) as PEM files: ca.pem (give it to verifiers: verify_export --trust ca.pem), "
        "signing-key.pem (mode 600) and signing-cert.pem; print the environment lines that "
        "make exports signed with them. For development and demonstrations only: production "
        "uses a key and certificate from a real CA (README)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--out",
            default=str(Path(settings.BASE_DIR) / "var" / "keys" / "export-signing"),
            help="folder to write the PEM files to (default: var/keys/export-signing)",
        )
        parser.add_argument(
            "--organization",
            default=settings.DISCLOSURE_FIRM_NAME,
            help="organization named in the certificates (default: DISCLOSURE_FIRM_NAME)",
        )
        parser.add_argument(
            "--days", type=int, default=825, help="validity of the signing certificate"
        )
        parser.add_argument(
            "--force", action="store_true", help="replace certificates already in the folder"
        )

    def handle(self, *args, out: str, organization: str, days: int, force: bool, **options):
        folder = Path(out).resolve()
        if days < 1:
            raise CommandError("--days must be at least 1.")
        if not organization.strip():
            raise CommandError("--organization must not be empty.")
        present = [name for name in FILES if (folder / name).exists()]
        if present and not force:
            raise CommandError(
                f"{folder} already holds {', '.join(present)}: nothing was written. "
                "Pass --force to replace them (exports signed before stay verifiable only "
                "with the old ca.pem)."
            )
        try:
            result = make_development_certificates(folder, organization=organization, days=days)
        except OSError as exc:
            raise CommandError(f"Cannot write to {folder}: {exc.strerror}") from exc
        done = f"Development signing certificate written to {folder}"
        self.stdout.write(self.style.SUCCESS(done))
        self.stdout.write(f"  CA certificate (for verifiers): {result.ca_cert}")
        self.stdout.write(f"  signing key (keep private):     {result.signing_key}")
        self.stdout.write(f"  signing certificate:            {result.signing_cert}")
        self.stdout.write("\nSign exports with it by setting, in the environment:\n")
        for line in result.environment():
            self.stdout.write(line)
        self.stdout.write(
            f"\nVerify an export: python manage.py verify_export FILE --trust {result.ca_cert}"
        )
