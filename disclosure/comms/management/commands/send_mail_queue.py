"""python manage.py send_mail_queue: deliver the outbox's due mail now."""

from django.core.management.base import BaseCommand, CommandError

from disclosure.comms import outbox


class Command(BaseCommand):
    help = (
        "Hand every due outbox message to the mail server (what the beat task "
        "dispatch_outbox does), without a broker: queued messages whose time has come "
        "and messages a stopped worker left half-sent once its lease ran out. Prints "
        "how many were sent, put back for a retry, failed for good, or skipped "
        "(another worker had them); it stops when the mail server cannot be reached. "
        "Exit status 1 when any failed for good."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--limit", type=int, default=500, help="at most this many messages (default 500)"
        )

    def handle(self, *args, limit: int, **options) -> None:
        if limit < 1:
            raise CommandError("--limit must be at least 1.")
        counts = outbox.dispatch_due(limit=limit)
        self.stdout.write(
            f"{counts[outbox.SENT]} sent, {counts[outbox.RETRY]} to retry, "
            f"{counts[outbox.FAILED]} failed, {counts[outbox.SKIPPED]} skipped"
        )
        if counts[outbox.UNREACHABLE]:
            self.stdout.write(
                self.style.WARNING(
                    "The mail server could not be reached: the rest wait for the next run."
                )
            )
        if counts[outbox.FAILED]:
            raise SystemExit(1)
