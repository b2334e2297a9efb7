"""Second factors (issue 20): TOTP authenticator apps and one-time recovery
codes, through django-otp's devices (``TOTPDevice``, ``StaticDevice``).

Staff roles must use a second factor when ``DISCLOSURE_STAFF_MFA_REQUIRED``
(the default; refused off outside DEBUG by ``accounts.checks``); a staff
member without one sets it up at their first sign-in. Vendor contacts may set
one up; once they have, it is asked at every sign-in. Every change is an
access-audit row; an admin's reset of someone's factors also ends their
sessions.
"""

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.validation import validated

from . import audit, lockout, sessions
from .models import AccessEvent, User
from .selectors import can_administer, principal_for

Kind = AccessEvent.Kind
RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


def has_factor(user: User) -> bool:
    """Whether ``user`` has a confirmed authenticator app."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def factor_required(user: User) -> bool:
    """Whether ``user`` must sign in with a second factor because of their
    role (research staff, and whoever may use the admin, while the setting
    requires it)."""
    if not settings.DISCLOSURE_STAFF_MFA_REQUIRED:
        return False
    return principal_for(user).is_staff_member or can_administer(user)


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def pending_device(user: User) -> TOTPDevice:
    """The authenticator app being set up for ``user`` (unconfirmed; made
    with a fresh secret when there is none). Never a confirmed device."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)
    return device


def _new_recovery_codes(user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
@validated
def confirm_enrolment(*, user: User, code: str, interface: str = "") -> list[str]:
    """Confirm the pending authenticator app of ``user`` with a ``code`` it
    shows: it replaces any earlier app, and ten new recovery codes (returned,
    shown once) replace any earlier ones; an ``mfa_enrolled`` audit row.
    ValidationFailed when the code is wrong (nothing changes)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise ValidationFailed("Start setting up the authenticator app again.", field="code")
    if not device.verify_token((code or "").strip().replace(" ", "")):
        raise ValidationFailed(
            "That code is not the one the app shows: check the app's clock and try again.",
            field="code",
        )
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit.record(Kind.MFA_ENROLLED, user=user, interface=interface)
    return _new_recovery_codes(user)


@transaction.atomic
@validated
@transaction.atomic
def replace_recovery_codes(*, user: User, interface: str = "") -> list[str]:
    """Ten new recovery codes for ``user`` (who has an authenticator app:
    NotPermitted otherwise); the old ones stop working. Audited."""
    if not has_factor(user):
        raise NotPermitted("Set up an authenticator app first.")
    codes = _new_recovery_codes(user)
    audit.record(Kind.RECOVERY_CODES, user=user, interface=interface)
    return codes


def verify(*, user: User, code: str, interface: str) -> str | None:
    """Check a second factor of ``user``: a code of their authenticator app
    (returns "totp") or one of their recovery codes (used up; returns
    "recovery", audited). A wrong code is a ``factor_failed`` failure that
    counts toward the lock-out; returns None then."""
    code = (code or "").strip().replace(" ", "").replace("-", "").lower()
    if code:
        for device in TOTPDevice.objects.filter(user=user, confirmed=True):
            if code.isdigit() and device.verify_token(code):
                return "totp"
        for device in StaticDevice.objects.filter(user=user, confirmed=True):
            if device.verify_token(code):
                audit.record(Kind.RECOVERY_CODE_USED, user=user, interface=interface,
                             left=recovery_codes_left(user))  # fmt: skip
                return "recovery"
    lockout.record_failure(Kind.FACTOR_FAILED, user=user, username=user.get_username(),
                           interface=interface)  # fmt: skip
    return None


@transaction.atomic
@validated
def remove_factor(*, user: User, code: str, interface: str = "") -> None:
    """Remove the second factor of ``user``, who must not need one by role
    (NotPermitted) and proves it with a current ``code`` (ValidationFailed
    when wrong). Audited."""
    if factor_required(user):
        raise NotPermitted("Research staff must keep a second factor.")
    if not has_factor(user):
        raise NotPermitted("You have no second factor.")
    if verify(user=user, code=code, interface=interface) is None:
        raise ValidationFailed("That code is not right.", field="code")
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(Kind.MFA_REMOVED, user=user, interface=interface)


@transaction.atomic
@validated
def reset_factors(*, actor: User, user: User) -> None:
    """An admin's reset of ``user``'s second factors (a lost phone): their
    authenticator app and recovery codes are deleted and every session of
    theirs ends, so they set up a new app at their next sign-in. An
    ``mfa_reset`` audit row names the admin. NotPermitted for anyone but an
    admin, and for one's own factors."""
    if not can_administer(actor):
        raise NotPermitted("Only an admin may reset someone's second factor.")
    if actor.pk == user.pk:
        raise NotPermitted("Another admin must reset your own second factor.")
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    StaticDevice.objects.filter(user=user).delete()
    sessions.end_all(user=user)
    # Sessions made without a sign-in page end too (the session hash covers it).
    User.objects.filter(pk=user.pk).update(session_epoch=F("session_epoch") + 1)
    audit.record(Kind.MFA_RESET, user=user, by=actor.get_username(), devices=removed)
