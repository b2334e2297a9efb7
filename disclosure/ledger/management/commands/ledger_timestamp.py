"""python manage.py ledger_timestamp: ask the TSA for the checkpoints' missing
RFC 3161 timestamps now (what the beat task does)."""

from django.core.management.base import BaseCommand, CommandError

from disclosure.core.tsa import tsa_configured
from disclosure.ledger.timestamps import stamp_missing


class Command(BaseCommand):
    help = (
        "Ask the time-stamping authority (DISCLOSURE_TSA_URL) for an RFC 3161 timestamp "
        "over every checkpoint that has none yet, oldest first; the tokens go to the "
        "database and the anchor directory. Exit status 1 when the TSA could not be reached."
    )

    def handle(self, *args, **options) -> None:
        if not tsa_configured():
            raise CommandError("DISCLOSURE_TSA_URL is not set: there is no TSA to ask.")
        result = stamp_missing()
        for seq in result.stamped:
            self.stdout.write(f"checkpoint #{seq}: timestamped")
        if result.error:
            self.stderr.write(
                self.style.ERROR(f"{result.error}; {result.missing} checkpoints still waiting")
            )
            raise SystemExit(1)
        self.stdout.write(
            self.style.SUCCESS(f"{len(result.stamped)} checkpoints timestamped, none waiting")
        )
