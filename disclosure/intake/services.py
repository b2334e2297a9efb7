"""Scanner intake: a finding opens a case at ``found``, once.

``submit_finding`` is idempotent on (source, external id): a repeat returns
the same case and attaches the evidence it brings that the case does not
have yet. Two identical submissions at the same moment also give one case:
the second one's finding row collides with the first on the unique
(source, external_id) index (on PostgreSQL it waits for the first to
commit), its whole transaction (case, reference, events) rolls back, and it
is answered as a repeat.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from disclosure.accounts.models import Organization, User
from disclosure.cases import services as case_services
from disclosure.cases.models import Case
from disclosure.core.errors import DuplicateEvidence, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.services import IncomingFile

from .models import Finding


@dataclass(frozen=True)
class Submission:
    """The outcome of one submission: the finding, its case, whether this
    submission created them, and the evidence files it added."""

    finding: Finding
    case: Case
    created: bool
    attached: list[EvidenceFile] = field(default_factory=list)


def _sha256(f: IncomingFile) -> str:
    """The SHA-256 of an incoming file's content; the stream is rewound."""
    digest = hashlib.sha256()
    for chunk in iter(lambda: f.stream.read(1 << 20), b""):
        digest.update(chunk)
    f.stream.seek(0)
    return digest.hexdigest()


def _rewind(files: Sequence[IncomingFile]) -> None:
    for f in files:
        f.stream.seek(0)


@validated
def submit_finding(
    *,
    actor: User,
    source: str,
    external_id: str,
    vendor: Organization,
    title: str,
    asset_provider: str,
    asset_kind: str,
    asset_identifier: str,
    evidence: Sequence[IncomingFile],
    how_found: str = "",
    found_at: datetime | None = None,
    **details: Any,
) -> Submission:
    """Record a scanner's finding. The first submission of (``source``,
    ``external_id``) opens a case through ``open_case`` (same rules: the
    actor may open cases, the evidence holds a capture or screenshot, ...)
    and records the finding; a repeat returns that case, attaching each
    evidence file the case does not hold yet (by SHA-256) through
    ``attach_evidence``. Never two cases for one finding. Evidence streams
    must be seekable (a repeat that lost the race re-reads them)."""
    source = clean_text(source, model=Finding, field="source", required=True)
    external_id = clean_text(external_id, model=Finding, field="external_id", required=True)
    how_found = clean_text(how_found, field="how_found") or (
        f"Reported by the scanner {source!r} as finding {external_id!r}."
    )
    for _attempt in range(2):
        existing = Finding.objects.filter(source=source, external_id=external_id).first()
        if existing is not None:
            return _repeat(actor=actor, finding=existing, evidence=evidence)
        try:
            with transaction.atomic():
                case = case_services.open_case(
                    actor=actor,
                    vendor=vendor,
                    title=title,
                    asset_provider=asset_provider,
                    asset_kind=asset_kind,
                    asset_identifier=asset_identifier,
                    how_found=how_found,
                    found_at=found_at if found_at is not None else now(),
                    exposure_evidence=evidence,
                    **details,
                )
                finding = Finding.objects.create(
                    source=source,
                    external_id=external_id,
                    case=case,
                    submitted_by=actor,
                    last_submitted_at=now(),
                )
        except IntegrityError:
            # Another submission of the same finding committed first.
            _rewind(evidence)
            continue
        return Submission(finding=finding, case=case, created=True, attached=[])
    raise ValidationFailed("The finding could not be recorded; submit it again.")


def _repeat(*, actor: User, finding: Finding, evidence: Sequence[IncomingFile]) -> Submission:
    """A repeat of ``finding``: count it, attach the evidence the case lacks;
    all of it or nothing (a closed case refuses new evidence: 409)."""
    with transaction.atomic():
        Finding.objects.filter(pk=finding.pk).update(
            submissions=F("submissions") + 1, last_submitted_at=now()
        )
        finding.refresh_from_db()
        case = finding.case
        attached = []
        known = set(EvidenceFile.objects.filter(case=case).values_list("sha256", flat=True))
        for f in evidence:
            if _sha256(f) in known:  # had it already: nothing to attach
                continue
            try:
                added = case_services.attach_evidence(actor=actor, case=case, file=f)
            except DuplicateEvidence:  # the same file twice in this submission
                continue
            attached.append(added)
            known.add(added.sha256)
    case.refresh_from_db()
    return Submission(finding=finding, case=case, created=False, attached=attached)
