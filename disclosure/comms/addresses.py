"""The vendor's known addresses, and which recipients mail about a case may
go to.

Known addresses of a vendor: its security contacts, the e-mail addresses of
its active vendor contacts, and any address at one of its domains. Mail goes
only to known addresses, except a first notice: a vendor with no contact yet
is reached at an address the staff member says where they found (the
vendor's security.txt, or an RFC 2142 role mailbox such as security@ at the
asset's domain). An address a delivery report marked undeliverable is
refused, saying since when and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formataddr, parseaddr

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models.functions import Lower

from disclosure.accounts.models import Membership, Organization, Role
from disclosure.cases.models import Case
from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import check_url, clean_text

from .models import UndeliverableAddress

# RFC 2142 role mailboxes a first notice may go to without another source.
ROLE_MAILBOXES = ("security", "abuse", "postmaster", "hostmaster", "webmaster", "info")
RFC2142 = "rfc2142"
MAX_RECIPIENTS = 50


@dataclass(frozen=True)
class KnownAddress:
    address: str  # lower case
    name: str  # a display name, if known
    source: str  # "security contact", "vendor contact"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def vendor_domains(vendor: Organization) -> set[str]:
    """The vendor's domains (its main ``domain`` and ``domains``), lower case."""
    names = [vendor.domain, *(vendor.domains or [])]
    return {str(d).strip().lower().rstrip(".") for d in names if str(d or "").strip()}


def known_addresses(vendor: Organization) -> list[KnownAddress]:
    """The vendor's security contacts, then its active vendor contacts'
    addresses (one query), each once."""
    found: dict[str, KnownAddress] = {}
    for raw in vendor.security_contacts or []:
        name, addr = parseaddr(str(raw))
        if addr and "@" in addr:
            found.setdefault(addr.lower(), KnownAddress(addr.lower(), name, "security contact"))
    contacts = (
        Membership.objects.filter(
            organization=vendor, role=Role.VENDOR_CONTACT, user__is_active=True
        )
        .exclude(user__email="")
        .select_related("user")
        .order_by("user__email")
    )
    for m in contacts:
        addr = m.user.email.strip().lower()
        name = m.user.get_full_name()
        found.setdefault(addr, KnownAddress(addr, name, "vendor contact"))
    return list(found.values())


def is_known(address: str, vendor: Organization, known: Sequence[KnownAddress]) -> bool:
    """Whether ``address`` is one of the vendor's known addresses or at one
    of its domains (or a subdomain of one)."""
    address = address.lower()
    if any(k.address == address for k in known):
        return True
    domain = domain_of(address)
    return any(domain == d or domain.endswith("." + d) for d in vendor_domains(vendor))


def parse_address(value: str, *, field: str) -> tuple[str, str]:
    """(display name, address) of ``value`` ("a@b" or "Name <a@b>"), or
    ValidationFailed naming it."""
    value = clean_text(value, field=field, label="address")
    if "\n" in value or "\r" in value:
        raise ValidationFailed(f"{value!r} is not an e-mail address.", field=field)
    name, addr = parseaddr(value)
    try:
        validate_email(addr)
    except ValidationError:
        raise ValidationFailed(f"{value!r} is not an e-mail address.", field=field) from None
    return name, addr


def check_source(found_at_source: str) -> str:
    """Where a first notice's address was found: ``rfc2142`` or the URL of
    a security.txt (https). Returns it cleaned, or '' when not given."""
    source = clean_text(found_at_source, field="found_at_source", label="source of the address")
    if not source or source.lower() == RFC2142:
        return source.lower()
    try:
        url = check_url(source, field="found_at_source", label="security.txt URL")
    except ValidationFailed:
        url = ""
    if not url.lower().split("?")[0].endswith("/security.txt"):
        raise ValidationFailed(
            "Say where the address was found: the URL of the vendor's security.txt "
            "(https://…/.well-known/security.txt) or 'rfc2142' for a role mailbox "
            f"({', '.join(r + '@' for r in ROLE_MAILBOXES)}).",
            field="found_at_source",
        )
    return url


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str]

    def logged(self) -> list[str]:
        """As the communication records them: cc marked."""
        return [*self.to, *(f"cc: {a}" for a in self.cc)]


def check_recipients(
    case: Case,
    *,
    to: Sequence[str],
    cc: Sequence[str] = (),
    first_notice: bool,
    found_at_source: str = "",
) -> Recipients:
    """The recipients of mail about ``case``, checked.

    Guarantees: at least one ``to``; every address well formed and not
    undeliverable; each address once; every address known for the vendor
    (``is_known``), except in a first notice whose ``found_at_source`` says
    where the unknown ones were found (a security.txt URL; 'rfc2142' only
    for role mailboxes). ValidationFailed names the address refused.
    """
    if isinstance(to, str) or isinstance(cc, str):
        raise ValidationFailed("Give the recipients as a list of addresses.", field="to")
    source = check_source(found_at_source)
    known = known_addresses(case.vendor)
    seen: set[str] = set()
    out: dict[str, list[str]] = {"to": [], "cc": []}
    for field, values in (("to", to), ("cc", cc)):
        for value in values:
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            name, addr = parse_address(value, field=field)
            if addr.lower() in seen:
                continue
            seen.add(addr.lower())
            if not is_known(addr, case.vendor, known):
                _check_unknown(case, addr, field=field, first_notice=first_notice, source=source)
            out[field].append(formataddr((name, addr)) if name else addr)
    if not out["to"]:
        raise ValidationFailed("Say to whom the mail goes.", field="to")
    if len(seen) > MAX_RECIPIENTS:
        raise ValidationFailed(f"At most {MAX_RECIPIENTS} recipients.", field="to")
    bad = (
        UndeliverableAddress.objects.annotate(lower=Lower("address"))
        .filter(lower__in=sorted(seen))
        .order_by("lower")
    )
    to_addresses = {parseaddr(a)[1].lower() for a in out["to"]}
    for row in bad:
        field = "to" if row.lower in to_addresses else "cc"
        reason = f" ({row.reason})" if row.reason else ""
        raise ValidationFailed(
            f"{row.lower} is undeliverable: a delivery report said so on "
            f"{row.since:%Y-%m-%d}{reason}. Remove it or use another address.",
            field=field,
        )
    return Recipients(to=out["to"], cc=out["cc"])


def _check_unknown(case: Case, addr: str, *, field: str, first_notice: bool, source: str) -> None:
    who = case.vendor.name
    if not first_notice:
        raise ValidationFailed(
            f"{addr} is not a known address of {who} (its security contacts, its vendor "
            "contacts or an address at its domains). Only a first notice may go to another "
            "address, with where it was found.",
            field=field,
        )
    if not source:
        raise ValidationFailed(
            f"{addr} is not a known address of {who}: say where you found it (the URL of "
            "its security.txt, or 'rfc2142' for a role mailbox such as security@).",
            field="found_at_source",
        )
    if source == RFC2142 and addr.partition("@")[0].lower() not in ROLE_MAILBOXES:
        raise ValidationFailed(
            f"{addr} is not an RFC 2142 role mailbox "
            f"({', '.join(r + '@' for r in ROLE_MAILBOXES)}): give the security.txt URL "
            "where you found it.",
            field=field,
        )
