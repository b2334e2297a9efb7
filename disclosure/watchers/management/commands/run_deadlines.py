"""python manage.py run_deadlines: the hourly deadline pass, without a broker."""

from django.core.management.base import BaseCommand

from disclosure.watchers.deadlines import run_deadline_pass


class Command(BaseCommand):
    help = (
        "Evaluate the open cases against their deadlines now (what the beat task "
        "run_deadline_pass does every hour): a reminder DISCLOSURE_REMINDER_DAYS before "
        "each deadline, a missed-deadline event once it has passed, 'vendor unresponsive' "
        "with a suggested escalation, each recorded once, with mail to the case's staff. "
        "Safe to run beside the beat task. Exit status 1 when cases were left alone "
        "because their record differs from their ledger."
    )

    def handle(self, *args, **options) -> None:
        result = run_deadline_pass()
        self.stdout.write(
            f"{result.considered} case(s) evaluated: {result.reminders} reminder(s), "
            f"{result.missed} missed deadline(s), {result.unresponsive} unresponsive vendor(s)"
        )
        if result.mismatched:
            self.stderr.write(
                f"{result.mismatched} case(s) left alone: their record differs from their "
                "ledger (run verify_ledger)."
            )
            raise SystemExit(1)
