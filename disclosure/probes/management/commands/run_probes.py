"""python manage.py run_probes: the re-probes that are due, without a broker."""

from django.core.management.base import BaseCommand

from disclosure.probes.runs import run_due_probes


class Command(BaseCommand):
    help = (
        "Re-probe now every case whose re-probe is due (what the beat task "
        "run_due_probes does): from 'found' until 'secured' and "
        "DISCLOSURE_PROBE_AFTER_SECURED_DAYS after, each result kept as evidence. "
        "Safe to run beside the beat task. Exit status 1 when cases were left "
        "alone because their record differs from their ledger."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Probe at most this many.")

    def handle(self, *args, **options) -> None:
        report = run_due_probes(limit=options["limit"])
        self.stdout.write(
            f"{report.probed} case(s) probed: {report.public} public, "
            f"{report.not_public} no longer public, {report.errors} error(s)"
        )
        if report.skipped:
            self.stderr.write(
                f"{len(report.skipped)} case(s) left alone: {', '.join(report.skipped)} "
                "(their record differs from their ledger: run verify_ledger)."
            )
            raise SystemExit(1)
