"""python manage.py send_digests: send today's daily digests now (what beat's
``send_digests`` task does)."""

from django.core.management.base import BaseCommand

from disclosure.comms.digest import send_digests


class Command(BaseCommand):
    help = (
        "Mail each person who chose a daily digest their pending notices, once a day: "
        "a second run on the same day sends nothing new."
    )

    def handle(self, *args, **options) -> None:
        sent = send_digests()
        self.stdout.write(f"{sent} digest(s) written to the outbox")
