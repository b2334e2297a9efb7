"""``manage.py fetch_mail``: read new mail from the Maildir (and IMAP when
DISCLOSURE_IMAP_URL is set) into the cases and the triage list; prints
the counts per mailbox. The beat task disclosure.comms.tasks.fetch_mail
does the same without a terminal."""

from django.core.management.base import BaseCommand, CommandError

from disclosure.comms.fetch import fetch_mail


class Command(BaseCommand):
    help = "Fetch received mail (Maildir, and IMAP when configured) and log it on its cases."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=None, help="At most this many messages.")

    def handle(self, *args, limit=None, **options):
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1.")
        result = fetch_mail(limit=limit)
        if result.skipped:
            self.stdout.write("Another fetch is running; nothing done.")
            return
        for source, c in result.sources.items():
            self.stdout.write(
                f"{source}: {c.matched} matched, {c.unmatched} unmatched (triage), "
                f"{c.duplicates} duplicates, {c.refused} refused, {c.errors} errors"
            )
        for failure in result.failures:
            self.stderr.write(f"Could not read {failure}")
        if result.failures:
            raise CommandError(f"{len(result.failures)} mailbox(es) could not be read.")
