"""Helpers of the sign-in tests: a TOTP code for a device, and an app set
up for a user with a known key."""

import time
from binascii import unhexlify

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "pw-for-tests-1"
KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test secret


def code_for(device: TOTPDevice, *, offset: int = 0) -> str:
    """The code ``device`` accepts now (``offset`` steps of 30 s later)."""
    totp = TOTP(unhexlify(device.key), device.step, device.t0, device.digits)
    totp.time = time.time() + offset * device.step
    return f"{totp.token():06d}"


def give_app(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="app", key=KEY, confirmed=True)
