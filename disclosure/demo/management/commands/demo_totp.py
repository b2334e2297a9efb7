"""Print the current second-factor code of the demo staff (their shared,
public demo key: ``demo.seed.DEMO_TOTP_KEY``)."""

import time
from binascii import unhexlify

from django.core.management.base import BaseCommand
from django_otp.oath import TOTP

from disclosure.demo.seed import DEMO_TOTP_KEY


class Command(BaseCommand):
    help = "Print the current sign-in code of the demo staff (demo key only)."

    def handle(self, *args, **options) -> None:
        totp = TOTP(unhexlify(DEMO_TOTP_KEY))
        totp.time = time.time()
        left = 30 - int(time.time()) % 30
        self.stdout.write(f"{totp.token():06d}  (valid for {left} more second(s))")
