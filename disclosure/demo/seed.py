"""Demo data for ``manage.py seed_demo``: the firm, two vendors, one user per
role, the reference "BlueBleed" case and one case at each other stage.

``seed_demo()`` guarantees, in one transaction (all of it or nothing):

- the firm (``settings.DISCLOSURE_FIRM_NAME``) and the vendors Contoso and
  Fabrikam exist, each once;
- the demo users exist, each once, active, with ``DEMO_PASSWORD`` and their
  membership; only the admin has ``is_staff`` and ``is_superuser``;
- every demo case exists once, identified by title and vendor: a case found
  under that key is left untouched, a missing one is built through the case
  services, so its ledger is complete and its chain verifies.

Running it again therefore adds nothing but re-sets the demo passwords.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from disclosure.accounts.models import Organization, Role, User
from disclosure.accounts.services import add_membership, create_organization
from disclosure.cases.models import Case
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now as server_now

from .scripts import BLUEBLEED_TITLE, CaseScript, Cast, build_bluebleed
from .stage_cases import STAGE_CASES
from .watchers import ensure_demo_watchers

DEMO_PASSWORD = "disclosure-demo"


@dataclass(frozen=True)
class Person:
    username: str
    first_name: str
    last_name: str
    role: Role
    org: str  # "firm" or the Cast attribute of a vendor


PEOPLE: tuple[Person, ...] = (
    Person("demo-analyst", "Sam", "Okafor", Role.ANALYST, "firm"),
    Person("demo-lead", "Priya", "Raman", Role.LEAD, "firm"),
    Person("demo-legal", "Jonas", "Weber", Role.LEGAL, "firm"),
    Person("demo-admin", "Mia", "Laurent", Role.ADMIN, "firm"),
    Person("demo-contoso-alex", "Alex", "Chen", Role.VENDOR_CONTACT, "contoso"),
    Person("demo-contoso-dana", "Dana", "Fischer", Role.VENDOR_CONTACT, "contoso"),
    Person("demo-fabrikam-rui", "Rui", "Santos", Role.VENDOR_CONTACT, "fabrikam"),
)
VENDORS = {"contoso": ("Contoso", "contoso.example"), "fabrikam": ("Fabrikam", "fabrikam.example")}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    organization: str
    password: str


@dataclass(frozen=True)
class DemoCase:
    reference: str
    stage: str
    vendor: str
    title: str
    created: bool


@dataclass(frozen=True)
class DemoResult:
    logins: tuple[DemoLogin, ...]
    cases: tuple[DemoCase, ...]
    # Demo endpoints the watchers could not be pointed at (demo.watchers).
    unreachable: tuple[str, ...] = ()


def seed_demo() -> DemoResult:
    """Create whatever part of the demo data is missing; see the module docstring.

    Raises a DomainError (e.g. ValidationFailed when an organization of a demo
    name exists with the wrong kind); nothing is written then.
    """
    at = server_now().replace(second=0, microsecond=0)
    with transaction.atomic():
        cast, logins = ensure_cast()
        rows = []
        for script in CASE_SCRIPTS:
            vendor = getattr(cast, script.vendor)
            case = Case.objects.filter(title=script.title, vendor=vendor).order_by("pk").first()
            created = case is None
            if case is None:
                case = script.build(cast, at, script.title)
                if case.title != script.title or case.vendor_id != vendor.pk:
                    # The key would not find it next time: a bug in the script.
                    raise RuntimeError(f"The demo script {script.title!r} broke its own key.")
            rows.append(DemoCase(case.reference, case.stage, vendor.name, case.title, created))
        unreachable = ensure_demo_watchers(cast)
    return DemoResult(tuple(logins), tuple(rows), tuple(unreachable))


# --- people and organizations ----------------------------------------------------------


def ensure_organization(name: str, kind: str, domain: str) -> Organization:
    """The organization called ``name`` (any case), created when missing.

    Raises ValidationFailed when it exists with another kind.
    """
    org = Organization.objects.filter(name__iexact=name).first()
    if org is None:
        return create_organization(name=name, kind=kind, domain=domain)
    if org.kind != kind:
        raise ValidationFailed(
            f"An organization named {org.name!r} exists as a {org.get_kind_display().lower()}; "
            f"the demo needs it to be a {Organization.Kind(kind).label.lower()}."
        )
    return org


def ensure_user(person: Person, org: Organization, domain: str) -> User:
    """The demo user ``person``: created when missing, otherwise brought back to
    the demo state (active, demo password, names, flags), with its membership."""
    user, _ = User.objects.get_or_create(username=person.username)
    user.first_name, user.last_name = person.first_name, person.last_name
    user.email = f"{person.first_name}.{person.last_name}@{domain}".lower()
    user.is_active = True
    user.is_staff = user.is_superuser = person.role == Role.ADMIN
    user.set_password(DEMO_PASSWORD)
    user.save()
    add_membership(user=user, organization=org, role=person.role)
    if person.role != Role.VENDOR_CONTACT and settings.DISCLOSURE_STAFF_MFA_REQUIRED:
        ensure_demo_totp(user)
    return user


# The demo staff's authenticator key (RFC 6238's test secret, public like the
# demo password): ``manage.py demo_totp`` prints its current code.
DEMO_TOTP_KEY = "3132333435363738393031323334353637383930"
DEMO_TOTP_BASE32 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"


def ensure_demo_totp(user: User) -> None:
    """Give a demo staff user the demo authenticator key (their only one)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).exclude(key=DEMO_TOTP_KEY).delete()
    TOTPDevice.objects.update_or_create(
        user=user, key=DEMO_TOTP_KEY, defaults={"name": "Demo key", "confirmed": True}
    )


def ensure_cast() -> tuple[Cast, list[DemoLogin]]:
    """The demo organizations and users, and the logins to print."""
    firm_name = settings.DISCLOSURE_FIRM_NAME
    firm = ensure_organization(firm_name, "firm", f"{slugify(firm_name)}.example")
    orgs = {"firm": firm}
    # A firm created earlier without a domain still needs one for mail addresses.
    domains = {"firm": firm.domain or f"{slugify(firm.name)}.example"}
    for key, (name, domain) in VENDORS.items():
        orgs[key] = ensure_organization(name, "vendor", domain)
        domains[key] = orgs[key].domain or domain
    users = {p.username: ensure_user(p, orgs[p.org], domains[p.org]) for p in PEOPLE}
    logins = [DemoLogin(p.username, p.role.label, orgs[p.org].name, DEMO_PASSWORD) for p in PEOPLE]
    by_role = {p.role: users[p.username] for p in PEOPLE if p.org == "firm"}
    cast = Cast(
        firm=firm,
        firm_domain=domains["firm"],
        contoso=orgs["contoso"],
        fabrikam=orgs["fabrikam"],
        analyst=by_role[Role.ANALYST],
        lead=by_role[Role.LEAD],
        legal=by_role[Role.LEGAL],
        admin=by_role[Role.ADMIN],
        contoso_contacts=tuple(users[p.username] for p in PEOPLE if p.org == "contoso"),
        fabrikam_contacts=tuple(users[p.username] for p in PEOPLE if p.org == "fabrikam"),
    )
    return cast, logins


# --- the cases ------------------------------------------------------------------------

# The reference case first, then one case at each other stage (``stage_cases``).
CASE_SCRIPTS: tuple[CaseScript, ...] = (
    CaseScript(BLUEBLEED_TITLE, "contoso", build_bluebleed),
    *(c.script() for c in STAGE_CASES),
)
