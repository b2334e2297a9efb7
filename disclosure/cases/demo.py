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

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.text import slugify

from disclosure.accounts.models import Organization, Role, User
from disclosure.accounts.services import add_membership, create_organization
from disclosure.comms.models import Channel, Direction
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now as server_now
from disclosure.evidence.models import DeletionMethod, EvidenceKind

from . import services
from .demo_cases import (
    BLUEBLEED_TITLE,
    CaseScript,
    Cast,
    build_bluebleed,
    fake_sha256,
    incoming,
    notice_body,
    policy,
    tiny_png,
)
from .models import Case
from .stages import CloseReason

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
    return DemoResult(tuple(logins), tuple(rows))


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
    return user


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


# --- one case at each of the other stages (times relative to now) ---------------------


def notify(cast: Cast, case: Case, at: datetime, recipients: list[str]) -> Case:
    """Send the standard first notice by e-mail."""
    return services.notify_vendor(
        actor=cast.analyst,
        case=case,
        occurred_at=at,
        channel=Channel.EMAIL,
        sender=cast.firm_mailbox,
        recipients=recipients,
        subject=f"[{case.reference}] {case.title}",
        body=notice_body(case.reference, case.asset_identifier, case.found_at, case.policy.name),
    )


def vendor_reply(cast: Cast, case: Case, sender: User, at: datetime, body: str) -> None:
    """Log an e-mail from the vendor, as the analyst who received it."""
    services.log_communication(
        actor=cast.analyst,
        case=case,
        direction=Direction.INBOUND,
        channel=Channel.EMAIL,
        sender=sender.email,
        recipients=[cast.firm_mailbox],
        subject=f"Re: [{case.reference}] {case.title}",
        body=body,
        occurred_at=at,
    )


def build_found(cast: Cast, now: datetime, title: str) -> Case:
    """Found five hours ago; the vendor is not told yet."""
    indices = [{"index": "support-tickets-2024", "docs.count": "48210", "store.size": "3.1gb"}]
    return services.open_case(
        actor=cast.analyst,
        vendor=cast.fabrikam,
        title=title,
        summary="An Elasticsearch node without authentication serves Fabrikam's helpdesk.",
        asset_provider="digitalocean",
        asset_kind="elasticsearch_index",
        asset_identifier="http://203.0.113.24:9200/support-tickets-2024",
        asset_region="FRA1",
        how_found="Internet-wide scan for port 9200 answering without authentication.",
        found_at=now - timedelta(hours=5),
        exposure_evidence=[
            incoming(
                "cat-indices.json",
                json.dumps(indices, indent=2),
                EvidenceKind.EXPOSURE_CAPTURE,
                "Answer to GET /_cat/indices?format=json without credentials.",
            )
        ],
        data_categories=["pii", "email_content"],
        records_by_kind={"tickets": 48_210},
        severity="high",
        tlp="amber_strict",
        time_zone="America/New_York",
        policy=policy("Exposure 30"),
        assignee=cast.analyst,
    )


def build_notified(cast: Cast, now: datetime, title: str) -> Case:
    """Notified 20 hours ago under 'Exposure 30': the deadlines are still ahead."""
    case = services.open_case(
        actor=cast.analyst,
        vendor=cast.contoso,
        title=title,
        asset_provider="aws",
        asset_kind="s3_bucket",
        asset_identifier="s3://contoso-db-backups-eu",
        asset_region="eu-central-1",
        how_found="Bucket name guessed from a public CI log; anonymous ListObjectsV2 succeeded.",
        found_at=now - timedelta(hours=30),
        exposure_evidence=[
            incoming(
                "list-objects.xml",
                '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>'
                "contoso-db-backups-eu</Name><KeyCount>412</KeyCount><Contents><Key>"
                "nightly/crm-2024-05-01.sql.gz</Key><Size>7340032000</Size></Contents>"
                "</ListBucketResult>\n",
                EvidenceKind.EXPOSURE_CAPTURE,
                "Anonymous ListObjectsV2 answer, first page.",
            ),
            incoming(
                "bucket-in-browser.png",
                tiny_png((255, 153, 0)),
                EvidenceKind.SCREENSHOT,
                "The bucket listing in a browser.",
            ),
        ],
        data_categories=["credentials", "pii"],
        volume_bytes=2_900_000_000_000,
        volume_objects=412,
        severity="critical",
        tlp="amber",
        time_zone="Europe/London",
        policy=policy("Exposure 30"),
        assignee=cast.lead,
    )
    return notify(cast, case, now - timedelta(hours=20), ["secure@contoso.example"])


def build_secured(cast: Cast, now: datetime, title: str) -> Case:
    """Acknowledged, then secured nine days ago, shown by our re-test."""
    case = services.open_case(
        actor=cast.analyst,
        vendor=cast.fabrikam,
        title=title,
        asset_provider="gcp",
        asset_kind="gcs_bucket",
        asset_identifier="gs://fabrikam-contract-scans",
        asset_region="europe-west3",
        how_found="Reported to us by a journalist; verified with an anonymous objects.list call.",
        found_at=now - timedelta(days=12),
        exposure_evidence=[
            incoming(
                "objects-list.json",
                json.dumps({"kind": "storage#objects", "items": [{"name": "2023/C-1042.pdf"}]}),
                EvidenceKind.EXPOSURE_CAPTURE,
                "Anonymous objects.list answer, first item.",
            )
        ],
        data_categories=["contracts", "government_id"],
        volume_objects=18_400,
        severity="high",
        time_zone="Europe/Lisbon",
        policy=policy("CERT/CC 45"),
        assignee=cast.analyst,
    )
    rui = cast.fabrikam_contacts[0]
    case = notify(cast, case, now - timedelta(days=12, hours=-2), [rui.email])
    vendor_reply(cast, case, rui, now - timedelta(days=11), "Received, we are on it.")
    case = services.acknowledge(actor=cast.analyst, case=case, occurred_at=now - timedelta(days=11))
    return services.secure(
        actor=cast.analyst,
        case=case,
        occurred_at=now - timedelta(days=9),
        retest_result="objects.list without credentials now answers 401.",
        evidence=[
            incoming(
                "retest.txt",
                "$ curl -s https://storage.googleapis.com/storage/v1/b/fabrikam-contract-scans/o"
                '\n{"error": {"code": 401, "message": "Anonymous caller does not have '
                'storage.objects.list access."}}\n',
                EvidenceKind.RETEST_RESULT,
                "Re-test without credentials.",
            )
        ],
    )


def build_deleted(cast: Cast, now: datetime, title: str) -> Case:
    """Acknowledged and secured by the vendor in the portal; our copy destroyed."""
    case = services.open_case(
        actor=cast.analyst,
        vendor=cast.contoso,
        title=title,
        asset_provider="self_hosted",
        asset_kind="database",
        asset_identifier="mongodb://198.51.100.17:27017/loyalty",
        how_found="Internet-wide scan for MongoDB answering listDatabases without credentials.",
        found_at=now - timedelta(days=40),
        exposure_evidence=[
            incoming(
                "list-databases.json",
                json.dumps({"databases": [{"name": "loyalty", "sizeOnDisk": 9_663_676_416}]}),
                EvidenceKind.EXPOSURE_CAPTURE,
                "listDatabases answer without credentials.",
            )
        ],
        data_categories=["pii", "financial"],
        records_by_kind={"accounts": 1_200_000},
        severity="high",
        time_zone="UTC",
        assignee=cast.lead,
    )
    alex = cast.contoso_contacts[0]
    case = notify(cast, case, now - timedelta(days=40, hours=-3), ["secure@contoso.example"])
    case = services.acknowledge(actor=alex, case=case, occurred_at=now - timedelta(days=39))
    case = services.secure(
        actor=alex,
        case=case,
        occurred_at=now - timedelta(days=38),
        note="Firewall rule added; the port is closed to the internet.",
    )
    dump = "copies/loyalty/accounts-sample.bson"
    return services.record_deletion(
        actor=cast.analyst,
        case=case,
        items=[{"path": dump, "bytes": 52_428_800, "sha256": fake_sha256(dump)}],
        method=DeletionMethod.CLEAR,
        tool="shred 9.1 -n 1 -z -u",
        performed_by=cast.analyst,
        performed_at=now - timedelta(days=30),
        verified_by=cast.legal,
        verification="Listed the analysis share: the file is gone; no backup holds it.",
    )


def build_closed(cast: Cast, now: datetime, title: str) -> Case:
    """Closed as invalid: the 'customer data' was synthetic test data."""
    case = services.open_case(
        actor=cast.analyst,
        vendor=cast.fabrikam,
        title=title,
        asset_provider="self_hosted",
        asset_kind="file_share",
        asset_identifier="ftp://files.fabrikam.example/pub/exports",
        how_found="Anonymous FTP login found by a scan; directory listing of /pub/exports.",
        found_at=now - timedelta(days=60),
        exposure_evidence=[
            incoming(
                "ftp-listing.txt",
                "-rw-r--r-- 1 ftp ftp 104857600 Jan 03 customers-full.csv\n",
                EvidenceKind.EXPOSURE_CAPTURE,
                "Directory listing after anonymous login.",
            )
        ],
        data_categories=["pii"],
        severity="medium",
        tlp="green",
        time_zone="Europe/Lisbon",
    )
    rui = cast.fabrikam_contacts[0]
    case = notify(cast, case, now - timedelta(days=60, hours=-2), [rui.email])
    vendor_reply(
        cast,
        case,
        rui,
        now - timedelta(days=59),
        "These files are synthetic test data we publish for integration partners.",
    )
    return services.close_case(
        actor=cast.lead,
        case=case,
        reason=CloseReason.INVALID,
        note="The vendor showed the files are generated test data; a sample check agrees.",
        occurred_at=now - timedelta(days=58),
    )


CASE_SCRIPTS: tuple[CaseScript, ...] = (
    CaseScript(BLUEBLEED_TITLE, "contoso", build_bluebleed),
    CaseScript(
        "Elasticsearch index with support tickets open to the internet", "fabrikam", build_found
    ),
    CaseScript("Public S3 bucket with nightly database backups", "contoso", build_notified),
    CaseScript("Cloud Storage bucket with scanned customer contracts", "fabrikam", build_secured),
    CaseScript("Unauthenticated MongoDB with loyalty programme accounts", "contoso", build_deleted),
    CaseScript("Anonymous FTP with customer CSV exports", "fabrikam", build_closed),
)
