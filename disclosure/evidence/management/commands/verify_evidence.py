"""python manage.py verify_evidence [--all]: re-hash stored evidence now."""

from django.core.management.base import BaseCommand

from disclosure.evidence import rotation


class Command(BaseCommand):
    help = (
        "Re-hash this hour's slice of the stored evidence (as the hourly beat task does), "
        "or every stored file with --all. A file whose bytes no longer match its SHA-256 "
        "raises an integrity alarm (ledger event, e-mail to staff). Exit status 1 when "
        "any file failed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--all", action="store_true", dest="everything", help="every file, not one slice"
        )

    def handle(self, *args, everything: bool, **options) -> None:
        result = rotation.check_all() if everything else rotation.check_current_slice()
        for sha256 in result.failed:
            self.stdout.write(self.style.ERROR(f"{sha256}: does not match its stored bytes"))
        self.stdout.write(
            f"slice {result.slice + 1} of {result.slices}: {result.blobs} file(s), "
            f"{result.bytes:,} bytes checked, {len(result.failed)} failed, "
            f"{result.restored} alarm(s) closed"
        )
        if result.failed:
            raise SystemExit(1)
