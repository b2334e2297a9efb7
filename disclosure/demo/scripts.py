"""Building blocks of the demo data, and its reference case ("BlueBleed").

A case script opens its case with ``services.open_case`` and walks it forward
with the stage services, logging communications and evidence on the way, so
that every demo case has a complete and valid ledger. Nothing here writes a
model directly: the helpers below (``notify``, ``log_message``,
``delete_copies``) only fill in the demo's defaults before calling a service.
``stage_cases.py`` holds the cases at the other stages, as a table;
``seed.py`` creates the people and organizations (``Cast``) and decides
whether a script runs (it skips cases that exist already).
"""

import hashlib
import io
import struct
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from disclosure.accounts.models import Organization, User
from disclosure.cases import services
from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.comms.models import Channel, Communication, Direction
from disclosure.evidence.models import DeletionMethod, EvidenceKind
from disclosure.evidence.services import IncomingFile


@dataclass(frozen=True)
class Cast:
    """The organizations and users the demo cases are built with."""

    firm: Organization
    firm_domain: str
    contoso: Organization
    fabrikam: Organization
    analyst: User
    lead: User
    legal: User
    admin: User
    contoso_contacts: tuple[User, ...]
    fabrikam_contacts: tuple[User, ...]

    @property
    def firm_mailbox(self) -> str:
        """The firm's disclosure mailbox, the sender of every notice."""
        return f"disclosure@{self.firm_domain}"

    def member(self, name: str) -> User:
        """The firm user of role ``name`` ("analyst", "lead", "legal", "admin"), or
        the vendor contact whose first name is ``name`` ("alex", "dana", "rui").

        Raises KeyError for any other name, so a typo in a demo table fails loudly.
        """
        if name in ("analyst", "lead", "legal", "admin"):
            return getattr(self, name)
        for user in (*self.contoso_contacts, *self.fabrikam_contacts):
            if user.first_name.lower() == name:
                return user
        raise KeyError(f"No demo user called {name!r}.")

    def address(self, name: str) -> str:
        """``name`` itself when it is an e-mail address, else the e-mail address of
        ``self.member(name)``."""
        return name if "@" in name else self.member(name).email


@dataclass(frozen=True)
class CaseScript:
    """A demo case: its stable key (title + vendor) and how to build it.

    ``vendor`` names the Cast attribute of the vendor organization; ``build``
    receives the cast, the current time and the title, and returns the finished
    case (opened with that title for that vendor).
    """

    title: str
    vendor: str
    build: Callable[[Cast, datetime, str], Case]


# --- generated evidence -------------------------------------------------------


def tiny_png(accent: tuple[int, int, int], width: int = 96, height: int = 60) -> bytes:
    """A small valid RGB PNG that looks like a browser window showing a listing.

    Deterministic: the same ``accent`` always gives the same bytes.
    """
    rows = []
    for y in range(height):
        if y < 8:
            row = bytes(accent) * width
        elif y > 10 and y % 6 in (2, 3):
            ink = int(width * (0.35 + ((y * 37) % 50) / 100))
            row = bytes((60, 60, 60)) * ink + bytes((250, 250, 250)) * (width - ink)
        else:
            row = bytes((250, 250, 250)) * width
        rows.append(b"\x00" + row)

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def incoming(
    name: str,
    content: bytes | str,
    kind: str,
    description: str,
    captured_at: datetime | None = None,
) -> IncomingFile:
    """An in-memory evidence file as the services take it."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return IncomingFile(name, io.BytesIO(data), kind, description, captured_at)


def fake_sha256(label: str) -> str:
    """A well-formed, stable SHA-256 standing in for a file the demo never had."""
    return hashlib.sha256(f"disclosure-demo:{label}".encode()).hexdigest()


def blob_listing(account: str, container: str, count: int = 24) -> str:
    """An anonymous Azure 'List Blobs' response (names and sizes only, fictional)."""
    kinds = ("projects.json", "users.csv", "mail/archive.pst", "contracts/signed-sow.pdf")
    blobs = "".join(
        f"<Blob><Name>crm/{2017 + i % 6}/tenant-{(i * 7919) % 65000:05d}/{kinds[i % 4]}</Name>"
        f"<Properties><Content-Length>{(i + 3) * 1_048_576 + i * 7}</Content-Length>"
        "</Properties></Blob>"
        for i in range(count)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<EnumerationResults ServiceEndpoint="https://{account}.blob.core.windows.net/" '
        f'ContainerName="{container}"><Blobs>{blobs}</Blobs>'
        "<NextMarker>2!96!MDAwMDI0IWNybS8yMDE4</NextMarker></EnumerationResults>\n"
    )


def utc(*parts: int) -> datetime:
    """``datetime(*parts)`` in UTC."""
    return datetime(*parts, tzinfo=UTC)


def policy(name: str) -> DisclosurePolicy:
    """A shipped policy (data migration), by name."""
    return DisclosurePolicy.objects.get(name=name)


def notice_body(reference: str, asset: str, found: datetime, policy_name: str) -> str:
    """The text of the demo's first notice to a vendor."""
    return (
        "Hello,\n\n"
        f"While researching publicly reachable storage we found that {asset} can be read "
        f"without any credentials (first observed {found:%Y-%m-%d %H:%M} UTC). It appears to "
        "hold your customers' data. We have not shared it with anyone.\n\n"
        "Please restrict access as soon as possible and tell us when it is done. We follow "
        f"our '{policy_name}' disclosure policy; our reference is {reference}.\n\n"
        "Kind regards,\nThe disclosure team\n"
    )


# --- the services, with the demo's defaults -----------------------------------


def notify(
    cast: Cast,
    case: Case,
    at: datetime,
    recipients: Sequence[str],
    *,
    subject: str = "",
    note: str = "",
) -> Case:
    """``services.notify_vendor``: the analyst e-mails the standard first notice
    (``notice_body``) from the firm mailbox at ``at``; the subject defaults to
    "[reference] title". Returns the case at stage ``vendor_notified``."""
    return services.notify_vendor(
        actor=cast.analyst,
        case=case,
        occurred_at=at,
        channel=Channel.EMAIL,
        sender=cast.firm_mailbox,
        recipients=recipients,
        subject=subject or f"[{case.reference}] {case.title}",
        body=notice_body(case.reference, case.asset_identifier, case.found_at, case.policy.name),
        note=note,
    )


def log_message(
    cast: Cast,
    case: Case,
    at: datetime,
    *,
    sender: User | str,
    subject: str,
    body: str,
    recipients: Sequence[str] | None = None,
    direction: str = Direction.INBOUND,
    channel: str = Channel.EMAIL,
    actor: User | None = None,
) -> Communication:
    """``services.log_communication`` of one message sent at ``at``, returned.

    Demo defaults: an inbound e-mail to the firm mailbox, logged by the analyst
    who received it. A User as ``sender`` stands for its e-mail address.
    """
    return services.log_communication(
        actor=actor or cast.analyst,
        case=case,
        direction=direction,
        channel=channel,
        sender=sender if isinstance(sender, str) else sender.email,
        recipients=[cast.firm_mailbox] if recipients is None else recipients,
        subject=subject,
        body=body,
        occurred_at=at,
    )


def delete_copies(
    cast: Cast,
    case: Case,
    at: datetime,
    copies: Mapping[str, int],
    *,
    method: str,
    tool: str,
    verified_by: User,
    verification: str,
    retained_metadata: Sequence[str] = (),
    retention_reason: str = "",
    evidence: Sequence[IncomingFile] = (),
    note: str = "",
) -> Case:
    """``services.record_deletion``: the analyst destroyed the firm's ``copies``
    (path -> size in bytes, each with a stable stand-in SHA-256) at ``at`` and
    ``verified_by`` checked it. Returns the case at stage ``data_deleted``."""
    return services.record_deletion(
        actor=cast.analyst,
        case=case,
        items=[
            {"path": path, "bytes": size, "sha256": fake_sha256(path)}
            for path, size in copies.items()
        ],
        method=method,
        tool=tool,
        performed_by=cast.analyst,
        performed_at=at,
        verified_by=verified_by,
        verification=verification,
        retained_metadata=retained_metadata,
        retention_reason=retention_reason,
        evidence=evidence,
        note=note,
    )


# --- the reference case, modelled on the 2022 "BlueBleed" exposure ---------------

BLUEBLEED_TITLE = "Publicly listable Azure Blob container with CRM exports"
BLUEBLEED_URL = "https://contosocrmexport.blob.core.windows.net/exports"


def build_bluebleed(cast: Cast, _now: datetime, title: str = BLUEBLEED_TITLE) -> Case:
    """Found, notified, acknowledged and secured on 2022-09-24; copies destroyed on
    2022-10-05; published on 2022-10-19; the entity count disputed by Contoso.

    Every message between these milestones is logged on the case (inbound,
    outbound and internal), with the evidence of each step, so the case shows
    the whole ledger: 21 events, the last the vendor's countersignature.
    """
    analyst, lead = cast.analyst, cast.lead
    alex, dana = cast.contoso_contacts[0], cast.contoso_contacts[1]
    case = services.open_case(
        actor=analyst,
        vendor=cast.contoso,
        title=title,
        summary=(
            "A misconfigured Azure Blob container allowed anonymous listing and reading of "
            "2.4 TB of CRM exports: e-mails, project files, signed contracts and user records "
            "of Contoso's business customers. Modelled on the 2022 'BlueBleed' exposure."
        ),
        asset_provider="azure",
        asset_kind="blob_container",
        asset_identifier=BLUEBLEED_URL,
        asset_region="West Europe",
        how_found=(
            "Passive survey of Azure Blob endpoints for containers that allow anonymous "
            "listing: the container answered a List Blobs request made without credentials."
        ),
        found_at=utc(2022, 9, 24, 7, 0),
        exposure_evidence=[
            incoming(
                "exports-list-blobs.xml",
                blob_listing("contosocrmexport", "exports"),
                EvidenceKind.EXPOSURE_CAPTURE,
                "Anonymous List Blobs response, first page: names and sizes only.",
                utc(2022, 9, 24, 6, 52),
            ),
            incoming(
                "exports-listing-in-browser.png",
                tiny_png((0, 120, 212)),
                EvidenceKind.SCREENSHOT,
                "The container listing in a browser without credentials.",
                utc(2022, 9, 24, 6, 55),
            ),
        ],
        data_categories=["pii", "email_content", "contracts"],
        volume_bytes=2_400_000_000_000,
        records_by_kind={"emails": 335_000, "projects": 133_000, "users": 584_000},
        data_from=date(2017, 1, 1),
        data_to=date(2022, 9, 24),
        affected_entity_count=65_000,
        affected_country_count=111,
        severity="critical",
        tlp="amber",
        time_zone="Europe/Berlin",
        assignee=analyst,
    )
    subject = f"[{case.reference}] Publicly listable Azure Blob container contosocrmexport/exports"
    case = notify(
        cast,
        case,
        utc(2022, 9, 24, 9, 0),
        ["secure@contoso.example", alex.email],
        subject=subject,
        note="Sent to the security contact listed in contoso.example/.well-known/security.txt.",
    )
    log_message(
        cast,
        case,
        utc(2022, 9, 24, 10, 12),
        sender=alex,
        subject=f"Re: {subject}",
        body="Thank you for the report. We are looking into it with the storage owners now.",
    )
    case = services.acknowledge(
        actor=analyst,
        case=case,
        occurred_at=utc(2022, 9, 24, 10, 12),
        note="Acknowledged by e-mail reply from Contoso's security team.",
    )
    log_message(
        cast,
        case,
        utc(2022, 9, 24, 11, 5),
        actor=lead,
        direction=Direction.INTERNAL,
        channel=Channel.OTHER,
        sender=lead,
        recipients=[],
        subject="Scope of our copy",
        body=(
            "We keep the listing and a 1% sample for counting affected organizations only; "
            "no bulk download. The sample lives on the encrypted analysis volume."
        ),
    )
    confirmation = log_message(
        cast,
        case,
        utc(2022, 9, 24, 15, 20),
        sender=dana,
        subject=f"Re: {subject}",
        body="Public access has been disabled on the storage account. Please confirm.",
    )
    case = services.secure(
        actor=analyst,
        case=case,
        occurred_at=utc(2022, 9, 24, 15, 30),
        confirmation=confirmation,
        retest_result="Anonymous List Blobs now answers 409 PublicAccessNotPermitted.",
        evidence=[
            incoming(
                "retest-2022-09-24T1528Z.txt",
                f"$ curl -sI '{BLUEBLEED_URL}?restype=container&comp=list'\n"
                "HTTP/1.1 409 Public access is not permitted on this storage account.\n"
                "x-ms-error-code: PublicAccessNotPermitted\n"
                "Date: Sat, 24 Sep 2022 15:28:41 GMT\n",
                EvidenceKind.RETEST_RESULT,
                "Re-test of anonymous listing after Contoso's confirmation.",
                utc(2022, 9, 24, 15, 28),
            )
        ],
        note="Contoso confirmed by e-mail; our re-test agrees.",
    )
    log_message(
        cast,
        case,
        utc(2022, 9, 26, 8, 40),
        sender=alex,
        subject=f"Deletion of your copies ({case.reference})",
        body="Please delete any data you retrieved from the container and confirm in writing.",
    )
    case = delete_copies(
        cast,
        case,
        utc(2022, 10, 5, 13, 0),
        {
            "copies/contosocrmexport/exports-sample-1pct.tar.zst": 24_117_248_000,
            "copies/contosocrmexport/counting.sqlite": 412_090_368,
        },
        method=DeletionMethod.PURGE,
        tool="cryptsetup 2.6 luksErase on the LUKS2 analysis volume, then blkdiscard",
        verified_by=lead,
        verification=(
            "The volume's key slots are empty and the volume no longer opens; the backup "
            "catalogue holds no copy of either path."
        ),
        retained_metadata=["domain", "company name", "e-mail address"],
        retention_reason=(
            "So that organizations can check whether they were affected, and to answer their "
            "and regulators' questions; no message content or documents are kept."
        ),
        evidence=[
            incoming(
                "deletion-log-2022-10-05.txt",
                "2022-10-05T12:58:02Z cryptsetup luksErase /dev/vg0/analysis: all keyslots "
                "erased\n2022-10-05T12:59:40Z blkdiscard /dev/vg0/analysis: done\n",
                EvidenceKind.DELETION_LOG,
                "Console log of the deletion.",
                utc(2022, 10, 5, 13, 0),
            )
        ],
        note="Deleted at Contoso's request of 2022-09-26.",
    )
    advisory = f"https://{cast.firm_domain}/advisories/2022/contoso-crm-exports"
    log_message(
        cast,
        case,
        utc(2022, 10, 17, 9, 0),
        actor=lead,
        direction=Direction.OUTBOUND,
        sender=cast.firm_mailbox,
        recipients=[alex.email, dana.email],
        subject=f"[{case.reference}] Publication planned for 2022-10-19",
        body=(
            "We plan to publish our advisory on 2022-10-19. It names no customer and links to "
            "a lookup where organizations can check by domain whether they were affected."
        ),
    )
    case = services.publish(
        actor=lead,
        case=case,
        occurred_at=utc(2022, 10, 19, 12, 0),
        url=advisory,
        title="2.4 TB of CRM exports in a publicly listable Azure Blob container",
    )
    services.attach_evidence(
        actor=lead,
        case=case,
        file=incoming(
            "advisory-snapshot-2022-10-19.html",
            f"<!doctype html><title>Advisory</title><p>Published at {advisory}</p>\n",
            EvidenceKind.PUBLICATION,
            "Snapshot of the published advisory.",
            utc(2022, 10, 19, 12, 5),
        ),
    )
    log_message(
        cast,
        case,
        utc(2022, 10, 19, 16, 0),
        sender=alex,
        subject=f"Statement on your publication ({case.reference})",
        body=(
            "The files contain many duplicate records of the same organizations. The number "
            "of affected entities and countries in your advisory is greatly exaggerated."
        ),
    )
    services.file_dispute(
        actor=alex,
        case=case,
        subject="Number of affected entities (65,000) and countries (111)",
        firm_position=(
            "About 65,000 organizations in 111 countries: distinct e-mail domains and company "
            "names in the listing and the 1% sample, after removing exact duplicates."
        ),
        firm_provenance="Our count from the exposure capture and sample, before deletion.",
        vendor_position=(
            "The figures count duplicates of the same organizations and are greatly "
            "overstated; Contoso does not confirm any count."
        ),
        vendor_provenance="Contoso's e-mail of 2022-10-19 and its public statement that day.",
        filed_at=utc(2022, 10, 19, 16, 30),
    )
    services.countersign_attestation(
        actor=dana, case=case, statement="Contoso has received the deletion attestation."
    )
    from .affected import seed_affected  # the affected list and both count claims (issue 19)

    seed_affected(cast, case, utc(2022, 10, 20, 9, 0))
    return case
