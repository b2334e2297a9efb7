"""The demo cases at the stages other than "published", as data.

Each row of ``STAGE_CASES`` says what was found and lists the steps that
brought the case to its stage. ``StageCase.build`` opens the case and applies
the steps in order; each step is one call of a case service (or of a
``scripts`` helper that fills in the demo's defaults and calls one), so
these cases get the same complete, verifiable ledger as any other. Times are
relative: a step's ``ago`` is how long before the seed's start it happened,
which keeps deadlines such as the notified case's still ahead.
"""

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.stages import CloseReason
from disclosure.evidence.models import DeletionMethod, EvidenceKind

from .scripts import (
    CaseScript,
    Cast,
    delete_copies,
    incoming,
    log_message,
    notify,
    policy,
    tiny_png,
)


@dataclass(frozen=True)
class Evidence:
    """An evidence file of a demo table; ``file()`` gives a fresh, unread upload."""

    name: str
    content: str | bytes
    kind: str
    description: str

    def file(self, captured_at: datetime | None = None) -> services.IncomingFile:
        """A new upload of this file (an IncomingFile can be read only once)."""
        return incoming(self.name, self.content, self.kind, self.description, captured_at)


@dataclass(frozen=True)
class Asset:
    """The exposed asset, as ``open_case`` takes it."""

    provider: str
    kind: str
    identifier: str
    region: str = ""


@dataclass(frozen=True)
class Step(ABC):
    """One step of a case, ``ago`` before the seed's start. People are named as
    ``Cast.member`` takes them ("analyst", "rui", ...)."""

    ago: timedelta

    @abstractmethod
    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        """Make the step's one service call at ``at``; return the case after it."""


@dataclass(frozen=True, kw_only=True)
class Notice(Step):
    """The analyst e-mails the standard first notice to ``to`` (a ``Cast.address``)."""

    to: str

    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        return notify(cast, case, at, [cast.address(self.to)])


@dataclass(frozen=True, kw_only=True)
class Reply(Step):
    """An e-mail from the vendor contact ``sender``, answering the notice."""

    sender: str
    body: str

    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        subject = f"Re: [{case.reference}] {case.title}"
        log_message(
            cast, case, at, sender=cast.member(self.sender), subject=subject, body=self.body
        )
        return case


@dataclass(frozen=True, kw_only=True)
class Acknowledged(Step):
    """The vendor's acknowledgement, recorded by ``by``."""

    by: str

    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        return services.acknowledge(actor=cast.member(self.by), case=case, occurred_at=at)


@dataclass(frozen=True, kw_only=True)
class Secured(Step):
    """Secured: shown by our re-test, or stated by ``by`` when a vendor contact."""

    by: str = "analyst"
    retest_result: str = ""
    evidence: tuple[Evidence, ...] = ()
    note: str = ""

    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        return services.secure(
            actor=cast.member(self.by),
            case=case,
            occurred_at=at,
            retest_result=self.retest_result,
            evidence=[e.file() for e in self.evidence],
            note=self.note,
        )


@dataclass(frozen=True, kw_only=True)
class Deletion(Step):
    """The analyst destroys our ``copies`` (path -> bytes); ``verifier`` checks."""

    copies: dict[str, int]
    method: str
    tool: str
    verifier: str
    verification: str

    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        return delete_copies(
            cast,
            case,
            at,
            self.copies,
            method=self.method,
            tool=self.tool,
            verified_by=cast.member(self.verifier),
            verification=self.verification,
        )


@dataclass(frozen=True, kw_only=True)
class Closing(Step):
    """``by`` closes the case for ``reason``; ``note`` says why."""

    by: str
    reason: str
    note: str

    def apply(self, cast: Cast, case: Case, at: datetime) -> Case:
        return services.close_case(
            actor=cast.member(self.by),
            case=case,
            reason=self.reason,
            note=self.note,
            occurred_at=at,
        )


@dataclass(frozen=True)
class StageCase:
    """A demo case as data: ``build`` (a ``CaseScript.build``) opens it with the
    title it is given, for ``vendor`` (a Cast attribute), found ``found`` before
    now with ``evidence`` and the other ``details`` (also ``policy_name``, and
    ``assignee`` as a ``Cast.member`` name), then applies ``steps`` in order.
    Every write is a service call; the case returned is at its last step's stage.
    """

    title: str
    vendor: str
    asset: Asset
    how_found: str
    found: timedelta
    evidence: tuple[Evidence, ...]
    details: dict[str, Any]
    policy_name: str | None = None  # None: open_case's default policy
    assignee: str | None = None
    steps: tuple[Step, ...] = ()

    def script(self) -> CaseScript:
        """The CaseScript that seeds this case under its key (title, vendor)."""
        return CaseScript(self.title, self.vendor, self.build)

    def build(self, cast: Cast, now: datetime, title: str) -> Case:
        """Open the case and apply its steps (see the class docstring); returns
        the case as the last step left it. Raises what a service raises."""
        details = dict(self.details)
        if self.policy_name:
            details["policy"] = policy(self.policy_name)
        if self.assignee:
            details["assignee"] = cast.member(self.assignee)
        case = services.open_case(
            actor=cast.analyst,
            vendor=getattr(cast, self.vendor),
            title=title,
            asset_provider=self.asset.provider,
            asset_kind=self.asset.kind,
            asset_identifier=self.asset.identifier,
            asset_region=self.asset.region,
            how_found=self.how_found,
            found_at=now - self.found,
            exposure_evidence=[e.file(captured_at=now - self.found) for e in self.evidence],
            **details,
        )
        for step in self.steps:
            case = step.apply(cast, case, now - step.ago)
        return case


# What the Elasticsearch node of the "found" case lists, without credentials.
ES_INDICES = [{"index": "support-tickets-2024", "docs.count": "48210", "store.size": "3.1gb"}]

STAGE_CASES: tuple[StageCase, ...] = (
    # Found five hours ago; the vendor is not told yet.
    StageCase(
        title="Elasticsearch index with support tickets open to the internet",
        vendor="fabrikam",
        asset=Asset(
            "digitalocean",
            "elasticsearch_index",
            "http://203.0.113.24:9200/support-tickets-2024",
            region="FRA1",
        ),
        how_found="Internet-wide scan for port 9200 answering without authentication.",
        found=timedelta(hours=5),
        evidence=(
            Evidence(
                "cat-indices.json",
                json.dumps(ES_INDICES, indent=2),
                EvidenceKind.EXPOSURE_CAPTURE,
                "Answer to GET /_cat/indices?format=json without credentials.",
            ),
        ),
        details=dict(
            summary="An Elasticsearch node without authentication serves Fabrikam's helpdesk.",
            data_categories=["pii", "email_content"],
            records_by_kind={"tickets": 48_210},
            severity="high",
            tlp="amber_strict",
            time_zone="America/New_York",
        ),
        policy_name="Exposure 30",
        assignee="analyst",
    ),
    # Notified 20 hours ago under 'Exposure 30': the deadlines are still ahead.
    StageCase(
        title="Public S3 bucket with nightly database backups",
        vendor="contoso",
        asset=Asset("aws", "s3_bucket", "s3://contoso-db-backups-eu", region="eu-central-1"),
        how_found="Bucket name guessed from a public CI log; anonymous ListObjectsV2 succeeded.",
        found=timedelta(hours=30),
        evidence=(
            Evidence(
                "list-objects.xml",
                '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>'
                "contoso-db-backups-eu</Name><KeyCount>412</KeyCount><Contents><Key>"
                "nightly/crm-2024-05-01.sql.gz</Key><Size>7340032000</Size></Contents>"
                "</ListBucketResult>\n",
                EvidenceKind.EXPOSURE_CAPTURE,
                "Anonymous ListObjectsV2 answer, first page.",
            ),
            Evidence(
                "bucket-in-browser.png",
                tiny_png((255, 153, 0)),
                EvidenceKind.SCREENSHOT,
                "The bucket listing in a browser.",
            ),
        ),
        details=dict(
            data_categories=["credentials", "pii"],
            volume_bytes=2_900_000_000_000,
            volume_objects=412,
            severity="critical",
            tlp="amber",
            time_zone="Europe/London",
        ),
        policy_name="Exposure 30",
        assignee="lead",
        steps=(Notice(timedelta(hours=20), to="secure@contoso.example"),),
    ),
    # Notified five days ago under 'Exposure 30' and never answered: its
    # acknowledgement and secure deadlines have passed (run_watchers records
    # the missed deadlines and the unresponsive vendor).
    StageCase(
        title="Azure blob container with HR exports, vendor silent",
        vendor="fabrikam",
        asset=Asset("azure", "blob_container", "https://fabrikamhr.blob.core.windows.net/exports"),
        how_found="Container listing allowed anonymously (restype=container&comp=list).",
        found=timedelta(days=6),
        evidence=(
            Evidence(
                "container-list.xml",
                '<?xml version="1.0" encoding="utf-8"?>\n<EnumerationResults ContainerName='
                '"exports"><Blobs><Blob><Name>payroll-2026-10.csv</Name></Blob></Blobs>'
                "</EnumerationResults>\n",
                EvidenceKind.EXPOSURE_CAPTURE,
                "Anonymous List Blobs answer.",
            ),
        ),
        details=dict(
            data_categories=["pii", "financial"],
            records_by_kind={"employees": 3_400},
            severity="high",
            time_zone="Europe/Lisbon",
        ),
        policy_name="Exposure 30",
        assignee="analyst",
        steps=(Notice(timedelta(days=5), to="rui"),),
    ),
    # Acknowledged, then secured nine days ago, shown by our re-test.
    StageCase(
        title="Cloud Storage bucket with scanned customer contracts",
        vendor="fabrikam",
        asset=Asset("gcp", "gcs_bucket", "gs://fabrikam-contract-scans", region="europe-west3"),
        how_found="Reported to us by a journalist; verified with an anonymous objects.list call.",
        found=timedelta(days=12),
        evidence=(
            Evidence(
                "objects-list.json",
                json.dumps({"kind": "storage#objects", "items": [{"name": "2023/C-1042.pdf"}]}),
                EvidenceKind.EXPOSURE_CAPTURE,
                "Anonymous objects.list answer, first item.",
            ),
        ),
        details=dict(
            data_categories=["contracts", "government_id"],
            volume_objects=18_400,
            severity="high",
            time_zone="Europe/Lisbon",
        ),
        policy_name="CERT/CC 45",
        assignee="analyst",
        steps=(
            Notice(timedelta(days=12, hours=-2), to="rui"),
            Reply(timedelta(days=11), sender="rui", body="Received, we are on it."),
            Acknowledged(timedelta(days=11), by="analyst"),
            Secured(
                timedelta(days=9),
                retest_result="objects.list without credentials now answers 401.",
                evidence=(
                    Evidence(
                        "retest.txt",
                        "$ curl -s https://storage.googleapis.com/storage/v1/b/"
                        'fabrikam-contract-scans/o\n{"error": {"code": 401, "message": '
                        '"Anonymous caller does not have storage.objects.list access."}}\n',
                        EvidenceKind.RETEST_RESULT,
                        "Re-test without credentials.",
                    ),
                ),
            ),
        ),
    ),
    # Acknowledged and secured by the vendor in the portal; our copy destroyed.
    StageCase(
        title="Unauthenticated MongoDB with loyalty programme accounts",
        vendor="contoso",
        asset=Asset("self_hosted", "database", "mongodb://198.51.100.17:27017/loyalty"),
        how_found="Internet-wide scan for MongoDB answering listDatabases without credentials.",
        found=timedelta(days=40),
        evidence=(
            Evidence(
                "list-databases.json",
                json.dumps({"databases": [{"name": "loyalty", "sizeOnDisk": 9_663_676_416}]}),
                EvidenceKind.EXPOSURE_CAPTURE,
                "listDatabases answer without credentials.",
            ),
        ),
        details=dict(
            data_categories=["pii", "financial"],
            records_by_kind={"accounts": 1_200_000},
            severity="high",
            time_zone="UTC",
        ),
        assignee="lead",
        steps=(
            Notice(timedelta(days=40, hours=-3), to="secure@contoso.example"),
            Acknowledged(timedelta(days=39), by="alex"),
            Secured(
                timedelta(days=38),
                by="alex",
                note="Firewall rule added; the port is closed to the internet.",
            ),
            Deletion(
                timedelta(days=30),
                copies={"copies/loyalty/accounts-sample.bson": 52_428_800},
                method=DeletionMethod.CLEAR,
                tool="shred 9.1 -n 1 -z -u",
                verifier="legal",
                verification="Listed the analysis share: the file is gone; no backup holds it.",
            ),
        ),
    ),
    # Closed as invalid: the 'customer data' was synthetic test data.
    StageCase(
        title="Anonymous FTP with customer CSV exports",
        vendor="fabrikam",
        asset=Asset("self_hosted", "file_share", "ftp://files.fabrikam.example/pub/exports"),
        how_found="Anonymous FTP login found by a scan; directory listing of /pub/exports.",
        found=timedelta(days=60),
        evidence=(
            Evidence(
                "ftp-listing.txt",
                "-rw-r--r-- 1 ftp ftp 104857600 Jan 03 customers-full.csv\n",
                EvidenceKind.EXPOSURE_CAPTURE,
                "Directory listing after anonymous login.",
            ),
        ),
        details=dict(
            data_categories=["pii"], severity="medium", tlp="green", time_zone="Europe/Lisbon"
        ),
        steps=(
            Notice(timedelta(days=60, hours=-2), to="rui"),
            Reply(
                timedelta(days=59),
                sender="rui",
                body="These files are synthetic test data we publish for integration partners.",
            ),
            Closing(
                timedelta(days=58),
                by="lead",
                reason=CloseReason.INVALID,
                note="The vendor showed the files are generated test data; a sample check agrees.",
            ),
        ),
    ),
)
