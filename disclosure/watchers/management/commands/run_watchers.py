"""python manage.py run_watchers: every periodic pass of the watchers once,
in order, without a broker (what beat runs on its own schedule)."""

from django.core.management.base import BaseCommand

from disclosure.core import outbox
from disclosure.evidence import retention
from disclosure.probes.runs import run_due_probes
from disclosure.watchers.deadlines import run_deadline_pass


class Command(BaseCommand):
    help = (
        "Run the watchers now, in this order: the deadline pass (reminders, missed "
        "deadlines, unresponsive vendors), the re-probes that are due, the retention "
        "purge, then the outbox (the mail, webhooks and alarms they queued). Each pass "
        "is the one beat runs and is safe beside it. Exit status 1 when a case was left "
        "alone because its record differs from its ledger, or a channel failed."
    )

    def handle(self, *args, **options) -> None:
        problems = 0
        deadlines = run_deadline_pass()
        self.stdout.write(
            f"deadlines: {deadlines.considered} case(s) evaluated, {deadlines.reminders} "
            f"reminder(s), {deadlines.missed} missed, {deadlines.unresponsive} unresponsive"
        )
        problems += deadlines.mismatched
        probes = run_due_probes()
        self.stdout.write(
            f"re-probes: {probes.probed} probed ({probes.public} public, "
            f"{probes.not_public} not public, {probes.errors} error(s))"
        )
        problems += len(probes.skipped)
        purge = retention.purge_expired()
        self.stdout.write(f"retention: {len(purge.cases)} case(s), {purge.files} file(s) purged")
        problems += len(purge.skipped)
        for channel, counts in outbox.dispatch_all().items():
            summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            self.stdout.write(f"outbox {channel}: {summary or 'nothing due'}")
            problems += counts.get("error", 0)
        if problems:
            self.stderr.write(f"{problems} problem(s): see the lines above and the log")
            raise SystemExit(1)
