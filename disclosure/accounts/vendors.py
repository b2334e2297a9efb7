"""Vendor organizations created and edited by the firm's leads and admins
(staff UI and API; before, only in /admin/): name, domains, security
contact addresses, time zone. Organizations are not case-scoped, so each
change is audited in ``OrganizationChange`` (who, when, every field's
before and after), not in a case ledger."""

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_name

from .models import Organization, OrganizationChange, Role, User
from .selectors import principal_for

VENDOR_FIELDS = ("name", "domains", "security_contacts", "time_zone", "mail_includes_content")
MAX_ITEMS = 50
_HOST = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)


def can_manage_vendors(user) -> bool:
    """Whether ``user`` may create and edit vendor organizations: leads and admins."""
    return principal_for(user).staff_role in (Role.LEAD, Role.ADMIN)


def _require_manager(actor: User) -> None:
    if not can_manage_vendors(actor):
        raise NotPermitted("Only leads and admins create and edit vendor organizations.")


def _items(value: Any, field: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValidationFailed(f"The {field.replace('_', ' ')} are a list.", field=field)
    if len(value) > MAX_ITEMS:
        raise ValidationFailed(f"At most {MAX_ITEMS} {field.replace('_', ' ')}.", field=field)
    if not all(isinstance(v, str) for v in value):
        raise ValidationFailed(f"The {field.replace('_', ' ')} are text.", field=field)
    return [v.strip().lower() for v in value if v.strip()]


def _domains(value: Any) -> list[str]:
    """Host names, lower case, without duplicates, in the order given;
    every bad one is named."""
    items = list(dict.fromkeys(d.rstrip(".") for d in _items(value, "domains")))
    bad = [repr(d) for d in items if not _HOST.match(d)]
    if bad:
        raise ValidationFailed(f"Not a domain name: {', '.join(bad)}.", field="domains")
    return items


def _contacts(value: Any) -> list[str]:
    """E-mail addresses, lower case, without duplicates; every bad one named."""
    items = list(dict.fromkeys(_items(value, "security_contacts")))
    bad = []
    for address in items:
        try:
            validate_email(address)
        except ValidationError:
            bad.append(repr(address))
    if bad:
        raise ValidationFailed(
            f"Not an e-mail address: {', '.join(bad)}.", field="security_contacts"
        )
    return items


def _time_zone(value: Any) -> str:
    if not isinstance(value, str) or value not in zoneinfo.available_timezones():
        raise ValidationFailed(f"Unknown time zone {value!r}.", field="time_zone")
    return value


def _flag(value: Any) -> bool:
    """Whether mail to the vendor's contacts may quote the case's content."""
    if not isinstance(value, bool):
        raise ValidationFailed("Say yes or no (true or false).", field="mail_includes_content")
    return value


def _name(value: Any, organization: Organization | None) -> str:
    name = clean_name(value, model=Organization, field="name", label="organization's name")
    if not name:
        raise ValidationFailed("An organization needs a name.", field="name")
    same = Organization.objects.filter(name__iexact=name)
    if organization is not None:
        same = same.exclude(pk=organization.pk)
    if same.exists():
        raise ValidationFailed(f"An organization named {name!r} exists already.", field="name")
    return name


def _clean(values: Mapping[str, Any], organization: Organization | None) -> dict[str, Any]:
    unknown = sorted(str(k) for k in values if k not in VENDOR_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown field(s): {', '.join(unknown)}.", field=unknown[0])
    checks = {
        "name": lambda v: _name(v, organization),
        "domains": _domains,
        "security_contacts": _contacts,
        "time_zone": _time_zone,
        "mail_includes_content": _flag,
    }
    return {k: checks[k](v) for k, v in values.items()}


def _values(org: Organization) -> dict[str, Any]:
    return {f: getattr(org, f) for f in VENDOR_FIELDS}


@transaction.atomic
def create_vendor(
    *,
    actor: User,
    name: str,
    domains: Sequence[str] = (),
    security_contacts: Sequence[str] = (),
    time_zone: str = "UTC",
    mail_includes_content: bool = False,
) -> Organization:
    """A new vendor organization (leads and admins), audited as ``created``
    with every field. Names are unique case-insensitively; domains are host
    names and security contacts e-mail addresses (each bad one named);
    ``mail_includes_content``: whether notices to its contacts may quote
    messages, notes and figures (comms.notices; off by default)."""
    _require_manager(actor)
    cleaned = _clean(
        {"name": name, "domains": domains, "security_contacts": security_contacts,
         "time_zone": time_zone, "mail_includes_content": mail_includes_content},
        None,
    )  # fmt: skip
    org = Organization.objects.create(
        kind=Organization.Kind.VENDOR,
        domain=(cleaned["domains"] or [""])[0],
        **cleaned,
    )
    OrganizationChange.objects.create(
        organization=org, actor=actor, at=now(), kind=OrganizationChange.Kind.CREATED,
        changes={f: {"from": None, "to": v} for f, v in _values(org).items()},
    )  # fmt: skip
    return org


@transaction.atomic
def update_vendor(
    *, actor: User, organization: Organization, changes: Mapping[str, Any]
) -> Organization:
    """Change a vendor organization's fields (only those given; leads and
    admins), under a row lock, audited as ``updated`` with each changed
    field's before and after; nothing is written when nothing changes."""
    _require_manager(actor)
    if not isinstance(changes, Mapping):
        raise ValidationFailed("Give the changed fields.", field="changes")
    org = Organization.objects.select_for_update().filter(pk=organization.pk).first()
    if org is None or org.kind != Organization.Kind.VENDOR:
        raise NotFound("No such vendor organization.")
    cleaned = _clean(changes, org)
    before = _values(org)
    diff = {f: {"from": before[f], "to": v} for f, v in cleaned.items() if before[f] != v}
    if diff:
        for f, v in cleaned.items():
            setattr(org, f, v)
        org.domain = (org.domains or [""])[0]
        org.save(update_fields=[*cleaned, "domain"])
        OrganizationChange.objects.create(
            organization=org, actor=actor, at=now(), kind=OrganizationChange.Kind.UPDATED,
            changes=diff,
        )  # fmt: skip
    return org
