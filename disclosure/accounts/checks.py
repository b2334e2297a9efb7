"""System checks of the accounts (``manage.py check``).

A vendor contact is never superuser or staff (``User.save`` refuses it), but
a row written behind the model's back (raw SQL, an old database, a bulk
update) could still say so; the access module ignores the flags, and this
check reports every such account so that it is put right.
"""

from django.core.checks import Error, Tags, register
from django.db import DEFAULT_DB_ALIAS, DatabaseError
from django.db.models import Q


@register("accounts", Tags.database)
def check_vendor_contacts_hold_no_admin_flags(app_configs=None, databases=None, **kwargs):
    """accounts.E001 for each vendor contact flagged superuser or staff.

    Unlike Django's own database checks it runs on a plain ``manage.py check``
    (and so when a server starts): with no ``--database`` it reads the default
    database. A database that cannot be read (not migrated, not reachable) is
    skipped: this check never stops a check run by itself.
    """
    from .models import Organization, User

    errors = []
    for alias in databases or (DEFAULT_DB_ALIAS,):
        try:
            rows = list(
                User.objects.using(alias)
                .filter(
                    Q(is_superuser=True) | Q(is_staff=True),
                    memberships__organization__kind=Organization.Kind.VENDOR,
                )
                .distinct()
                .order_by("pk")
            )
        except DatabaseError:  # tables not migrated yet
            continue
        for user in rows:
            flags = [f for f in ("is_superuser", "is_staff") if getattr(user, f)]
            names = " and ".join("superuser" if f == "is_superuser" else "staff" for f in flags)
            errors.append(
                Error(
                    f"User {user.get_username()!r} (id {user.pk}) is a vendor contact flagged "
                    f"{names} ({', '.join(flags)}) in database {alias!r}.",
                    hint=(
                        "A vendor contact can never be superuser or staff; the access module "
                        "ignores the flags. Clear them, or end the vendor membership."
                    ),
                    obj=user,
                    id="accounts.E001",
                )
            )
    return errors


@register("accounts", Tags.security, deploy=False)
def check_staff_second_factor(app_configs=None, **kwargs):
    """accounts.E002 when staff may sign in without a second factor outside
    DEBUG: ``DISCLOSURE_STAFF_MFA_REQUIRED=0`` is for development only."""
    from django.conf import settings

    if settings.DEBUG or getattr(settings, "DISCLOSURE_STAFF_MFA_REQUIRED", True):
        return []
    return [
        Error(
            "DISCLOSURE_STAFF_MFA_REQUIRED is off outside DEBUG: research staff could "
            "sign in with a password alone.",
            hint="Unset DISCLOSURE_STAFF_MFA_REQUIRED (it defaults to on).",
            id="accounts.E002",
        )
    ]
