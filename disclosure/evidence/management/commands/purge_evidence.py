"""python manage.py purge_evidence [--at TIME]: purge expired evidence content now."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from disclosure.evidence import retention


class Command(BaseCommand):
    help = (
        "Purge the content of the evidence files of closed cases whose retention period "
        "(DISCLOSURE_RETENTION_DAYS, or the case's own) is over, except cases on legal "
        "hold, as the daily beat task does. Hashes, sizes, names and an evidence_purged "
        "event stay. Exit status 1 when a case had to be skipped."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--at",
            metavar="TIME",
            help="purge what is due at this ISO-8601 time with a time zone (default: now)",
        )

    def handle(self, *args, at: str | None, **options) -> None:
        when = None
        if at:
            when = parse_datetime(at)
            if when is None or when.tzinfo is None:
                raise CommandError("--at needs an ISO-8601 time with a time zone")
        result = retention.purge_expired(when)
        for reference in result.cases:
            self.stdout.write(f"{reference}: evidence content purged")
        for reference in result.skipped:
            self.stdout.write(
                self.style.ERROR(f"{reference}: skipped (its row differs from its ledger)")
            )
        self.stdout.write(
            f"{len(result.cases)} case(s), {result.files} file(s), {result.bytes:,} bytes purged; "
            f"{len(result.blobs_deleted)} blob(s) deleted, {len(result.blobs_kept)} kept "
            "(still needed elsewhere, or left to the orphan sweep)"
        )
        if result.skipped:
            raise SystemExit(1)
