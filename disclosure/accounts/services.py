"""Writes to organizations and memberships."""

from django.db import transaction

from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import clean_name, clean_text, validated

from .models import STAFF_ROLES, Membership, Organization, Role, User
from .selectors import forget_principal


@validated
def create_organization(*, name: str, kind: str, domain: str = "") -> Organization:
    """Create an organization; names are unique (case-insensitively, after
    normalisation: NFKC, one space between words; no invisible, direction or
    control character, see ``clean_name``), and there is exactly one
    research firm."""
    name = clean_name(name, model=Organization, field="name", label="organization's name")
    if not name:
        raise ValidationFailed("An organization needs a name.", field="name")
    if kind not in Organization.Kind.values:
        raise ValidationFailed(f"Unknown organization kind {kind!r}.", field="kind")
    firm = Organization.objects.filter(kind=Organization.Kind.FIRM).first()
    if kind == Organization.Kind.FIRM and firm is not None:
        # Any firm grants its members staff rights on every case: one only.
        raise ValidationFailed(
            f"There is one research firm already ({firm.name}); add staff to it instead.",
            field="kind",
        )
    if Organization.objects.filter(name__iexact=name).exists():
        raise ValidationFailed(f"An organization named {name!r} exists already.", field="name")
    return Organization.objects.create(
        name=name, kind=kind, domain=clean_text(domain, model=Organization, field="domain").lower()
    )


@transaction.atomic
@validated
def add_membership(*, user: User, organization: Organization, role: str) -> Membership:
    """Give ``user`` a role in ``organization``; the role must fit its kind
    (staff roles in the firm, vendor contact in a vendor)."""
    if role not in Role.values:
        raise ValidationFailed(f"Unknown role {role!r}.", field="role")
    if organization.kind == Organization.Kind.VENDOR and role != Role.VENDOR_CONTACT:
        raise ValidationFailed("Vendor organizations only have vendor contacts.", field="role")
    if organization.kind == Organization.Kind.FIRM and role not in STAFF_ROLES:
        raise ValidationFailed("The firm's members need a staff role.", field="role")
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    forget_principal(user)
    return membership
