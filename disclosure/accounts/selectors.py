"""Reads about who a user is: their staff role and vendor organizations.

Both are computed once per user object and cached on it, so an access check
in a loop costs no extra query.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from .models import STAFF_ROLES, Membership, Organization, Role, User

_CACHE_ATTR = "_disclosure_principal"

# Higher index wins when a user holds several staff roles.
_STAFF_RANK = [Role.LEGAL, Role.ANALYST, Role.LEAD, Role.ADMIN]


@dataclass(frozen=True)
class Principal:
    """What the access rules need to know about a user."""

    staff_role: Role | None
    vendor_ids: frozenset[int]
    firm_name: str | None
    # (id, name) of each vendor organization the user is a contact of.
    vendors: tuple[tuple[int, str], ...] = ()

    @property
    def is_staff_member(self) -> bool:
        return self.staff_role is not None

    @property
    def is_vendor_contact(self) -> bool:
        return bool(self.vendor_ids)


ANONYMOUS = Principal(None, frozenset(), None)


def principal_for(user) -> Principal:
    """The user's staff role (the highest they hold) and vendor memberships.

    Anonymous and inactive users get no role. Roles come from memberships:
    a superuser who is a member of nothing counts as an admin (they own the
    installation), but the flag grants nothing to a vendor contact. One
    query, once per user object (``remember_principal`` spares even that).
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    rows = Membership.objects.filter(user=user).values_list(*MEMBERSHIP_COLUMNS)
    return remember_principal(user, rows)


# What ``remember_principal`` reads of each of a user's memberships, in order.
MEMBERSHIP_COLUMNS = ("role", "organization_id", "organization__kind", "organization__name")


def remember_principal(user: User, memberships: Iterable[tuple[str, int, str, str]]) -> Principal:
    """Build ``user``'s principal from their memberships, given as
    (role, organization id, organization kind, organization name) rows (all
    of them: none for a user without any), and keep it on the user object so
    that no access check asks again."""
    staff_role: Role | None = None
    firm_name = None
    vendors: list[tuple[int, str]] = []
    for role, organization_id, kind, name in memberships:
        if kind == Organization.Kind.VENDOR:
            vendors.append((organization_id, name))
        elif role in STAFF_ROLES:
            role = Role(role)
            if staff_role is None or _STAFF_RANK.index(role) > _STAFF_RANK.index(staff_role):
                staff_role = role
                firm_name = name
    if staff_role is None and user.is_superuser and not vendors:
        # The installation's owner, a member of nothing; the flag is ignored
        # on a vendor contact (firm memberships always give a staff role).
        staff_role = Role.ADMIN
    principal = Principal(
        staff_role, frozenset(v for v, _ in vendors), firm_name, tuple(sorted(vendors))
    )
    setattr(user, _CACHE_ATTR, principal)
    return principal


def can_administer(user) -> bool:
    """Whether ``user`` may use the Django admin: an active admin-role member
    (or a superuser member of nothing) with ``is_staff``; never a vendor
    contact, whatever its flags."""
    return bool(getattr(user, "is_staff", False)) and principal_for(user).staff_role == Role.ADMIN


def can_manage_contacts(user) -> bool:
    """Whether ``user`` may invite and deactivate vendor contacts: active
    research staff who work cases (analyst, lead, admin; not legal)."""
    return principal_for(user).staff_role in (Role.ANALYST, Role.LEAD, Role.ADMIN)


def forget_principal(user: User) -> None:
    """Drop the cached principal after memberships change."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


# The account received mail is logged by (comms.inbound.mail_account): inactive,
# without a usable password and without memberships, so it can neither sign
# in nor pass any access check; the services that use it lock the case with
# cases.guards.system_locked_case.
MAIL_ACCOUNT_USERNAME = "disclosure-mail"


def is_system_account(user) -> bool:
    """Whether ``user`` is the system's own account (not a person): the mail
    account, inactive and without a usable password. No query."""
    return (
        getattr(user, "username", None) == MAIL_ACCOUNT_USERNAME
        and not getattr(user, "is_active", True)
        and not user.has_usable_password()
    )


def actor_snapshot(user: User | None, case=None) -> dict:
    """Who did something, frozen as it was: id, username, name, organization, role.

    The organization is the one that acts on ``case``: the firm for staff,
    the case's vendor for a vendor contact (who may belong to several
    vendors). Without a case, a contact of several vendors names none rather
    than an arbitrary one. ``None`` stands for the system itself (a
    scheduled task), and so does a system account (``is_system_account``:
    received mail), under its own name.
    """
    if user is None:
        return {
            "id": None,
            "username": "system",
            "name": "System",
            "organization": None,
            "role": "system",
        }
    if is_system_account(user):
        return {
            "id": user.pk,
            "username": user.get_username(),
            "name": user.display_name(),
            "organization": None,
            "role": "system",
        }
    p = principal_for(user)
    if p.staff_role is not None:
        org, role = p.firm_name, str(p.staff_role)
    elif p.vendors:
        names = dict(p.vendors)
        if case is not None:
            org = names.get(case.vendor_id)
        else:
            org = p.vendors[0][1] if len(p.vendors) == 1 else None
        role = str(Role.VENDOR_CONTACT)
    else:
        org, role = None, None
    return {
        "id": user.pk,
        "username": user.get_username(),
        "name": user.display_name(),
        "organization": org,
        "role": role,
    }


def vendor_organizations():
    """Every vendor organization, by name (choices for a case's vendor)."""
    return Organization.objects.filter(kind=Organization.Kind.VENDOR).order_by("name")


def staff_members():
    """Active users holding a staff role in the firm, by username, each once
    (choices for an assignee or a deletion's performer and verifier)."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organization__kind=Organization.Kind.FIRM,
            memberships__role__in=STAFF_ROLES,
        )
        .distinct()
        .order_by("username")
    )


@dataclass(frozen=True)
class StaffEntry:
    """One member of the firm's staff as the directory lists them."""

    id: int
    username: str
    name: str
    role: Role


def staff_directory() -> list[StaffEntry]:
    """The firm's active staff, by username, each once with the highest
    staff role they hold: the people a deletion's ``performed_by`` and
    ``verified_by`` (or a case's assignee) may name. One query."""
    rows = (
        Membership.objects.filter(
            user__is_active=True,
            organization__kind=Organization.Kind.FIRM,
            role__in=STAFF_ROLES,
        )
        .order_by("user__username", "user_id")
        .values_list("user_id", "user__username", "user__first_name", "user__last_name", "role")
    )
    best: dict[int, StaffEntry] = {}
    for user_id, username, first, last, role in rows:
        role = Role(role)
        held = best.get(user_id)
        if held is None or _STAFF_RANK.index(role) > _STAFF_RANK.index(held.role):
            name = f"{first} {last}".strip() or username
            best[user_id] = StaffEntry(user_id, username, name, role)
    return list(best.values())


def firm() -> Organization | None:
    """The research firm (there is at most one)."""
    return Organization.objects.filter(kind=Organization.Kind.FIRM).first()
