"""Writes of evidence files and deletion attestations."""

from collections.abc import Mapping, Sequence, Sized
from dataclasses import dataclass, replace
from datetime import datetime
from typing import IO, Any

from disclosure.accounts.models import User
from disclosure.accounts.selectors import principal_for
from disclosure.cases.guards import check_occurred_at, locked_case
from disclosure.cases.models import Case
from disclosure.comms import notices
from disclosure.core.errors import DuplicateEvidence, EvidenceRequired, ValidationFailed
from disclosure.core.hashing import is_sha256
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .models import (
    DeletionAttestation,
    DeletionMethod,
    EvidenceFile,
    EvidenceKind,
    shared_by_default,
)
from .storage import store_stream

MAX_BYTES = 2**63 - 1  # the size columns are PositiveBigIntegerFields


@dataclass(frozen=True)
class IncomingFile:
    """A file as an interface hands it to a service: a name and a byte stream."""

    name: str
    stream: IO[bytes]
    kind: str = EvidenceKind.OTHER
    description: str = ""
    # When the content was captured (a screenshot's moment), if known.
    captured_at: datetime | None = None
    # Whether the vendor sees the file: the uploader's choice, or None for
    # the kind's default (``models.shared_by_default``).
    shared: bool | None = None

    def is_shared(self) -> bool:
        """The uploader's choice, else the default of the file's kind."""
        return shared_by_default(self.kind) if self.shared is None else bool(self.shared)

    def as_kind(self, kind: str) -> "IncomingFile":
        """The same upload, filed as ``kind``."""
        return replace(self, kind=kind)


def write_evidence(
    *,
    case: Case,
    actor,
    file: IncomingFile,
    internal: bool = False,
    reuse_existing: bool = False,
) -> EvidenceFile:
    """Store ``file`` and attach it to the locked ``case`` with its ledger event.

    The file is internal (never shown to the vendor) when ``internal`` (an
    internal note's attachment) or when a staff uploader did not share it
    (``IncomingFile.is_shared``: their choice, else the kind's default); a
    vendor contact's upload is always shared. For use inside a service that holds the
    case lock. Raises ValidationFailed
    for an unknown kind or an empty/oversized file. When the case has the same
    content already, returns that file if ``reuse_existing`` (a reply quoting
    an earlier attachment), else raises DuplicateEvidence.
    """
    if file.kind not in EvidenceKind.values:
        raise ValidationFailed(f"Unknown evidence kind {file.kind!r}.", field="kind")
    if file.captured_at is not None:
        check_occurred_at(file.captured_at, what="the capture")
    # A vendor contact's own upload is theirs to see: shared whatever the kind.
    vendor_upload = principal_for(actor).is_vendor_contact and not internal
    internal = internal or not (vendor_upload or file.is_shared())
    description = clean_text(file.description, field="description")
    name = (file.name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "unnamed"
    blob = store_stream(file.stream)
    existing = EvidenceFile.objects.filter(case=case, sha256=blob.sha256).first()
    if existing is not None and reuse_existing:
        if existing.internal and not internal:  # now shared with the vendor too
            existing.internal = False
            existing.save(update_fields=["internal"])
            append_event(
                case=case,
                kind=EventKind.EVIDENCE_SHARED,
                actor=actor,
                payload={
                    "evidence_id": existing.pk,
                    "sha256": existing.sha256,
                    "record": record_ref(existing),
                },
            )
        return existing
    if existing is not None:
        raise DuplicateEvidence(
            f"This file is already attached to {case.reference} as "
            f"'{existing.original_name}' (SHA-256 {blob.sha256[:12]}…).",
            field="file",
        )
    evidence = EvidenceFile.objects.create(
        case=case,
        sha256=blob.sha256,
        size=blob.size,
        content_type=blob.content_type,
        original_name=name,
        kind=file.kind,
        description=description,
        uploaded_by=actor,
        captured_at=file.captured_at,
        internal=internal,
    )
    append_event(
        case=case,
        kind=EventKind.EVIDENCE_ATTACHED,
        occurred_at=file.captured_at,
        actor=actor,
        payload={**evidence.manifest_entry(), "record": record_ref(evidence)},
        internal=internal,
    )
    return evidence


def write_evidence_files(
    *,
    case: Case,
    actor,
    files: Sequence[IncomingFile],
    internal: bool = False,
    reuse_existing: bool = False,
) -> list[EvidenceFile]:
    """write_evidence for each file. ``internal`` marks the evidence events
    internal (attachments of internal notes)."""
    return [
        write_evidence(
            case=case, actor=actor, file=f, internal=internal, reuse_existing=reuse_existing
        )
        for f in files
    ]


@validated
def attach_evidence(*, actor: User, case: Case, file: IncomingFile) -> EvidenceFile:
    """Attach one evidence file to ``case``; see write_evidence for the rules."""
    with locked_case(case, actor=actor, action="attach_evidence") as locked:
        evidence = write_evidence(case=locked, actor=actor, file=file)
        notices.vendor_acted(locked, actor, "attach_evidence", f"File: {evidence}")
        return evidence


def clean_deletion_items(items: Any) -> list[dict[str, Any]]:
    """Validate the manifest of destroyed items: a list of objects, each with
    a path (text), its size in bytes (0 to 2**63 - 1, and so the total) and
    its SHA-256. Raises EvidenceRequired for an empty manifest and
    ValidationFailed (field ``items``) for anything malformed."""
    if items is None or (isinstance(items, Sized) and not isinstance(items, str) and not items):
        raise EvidenceRequired(
            "A deletion attestation needs the manifest of what was destroyed "
            "(path, bytes and SHA-256 of each item).",
            field="items",
        )
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise ValidationFailed("The manifest must be a list of items.", field="items")
    cleaned = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise ValidationFailed(f"Item {i} of the manifest is not an object.", field="items")
        path = item.get("path") or item.get("key") or ""
        path = clean_text(path, field="items", label=f"path of item {i}")
        size = item.get("bytes")
        digest = item.get("sha256") or ""
        digest = digest.strip().lower() if isinstance(digest, str) else ""
        if not path:
            raise ValidationFailed(f"Item {i} has no path or key.", field="items")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= MAX_BYTES:
            raise ValidationFailed(f"Item {i} ({path}) needs its size in bytes.", field="items")
        if not is_sha256(digest):
            raise ValidationFailed(
                f"Item {i} ({path}) needs a SHA-256 of 64 hex digits.", field="items"
            )
        cleaned.append({"path": path, "bytes": size, "sha256": digest})
    if sum(i["bytes"] for i in cleaned) > MAX_BYTES:
        raise ValidationFailed(
            f"The manifest's total size is more than {MAX_BYTES} bytes.", field="items"
        )
    return cleaned


def clean_retained_metadata(values: Any) -> list[str]:
    """The kinds of metadata kept after deletion: a list of texts (blank
    ones dropped)."""
    if isinstance(values, str | bytes | Mapping) or not isinstance(values, Sequence):
        raise ValidationFailed("Retained metadata is a list of items.", field="retained_metadata")
    retained = [clean_text(m, field="retained_metadata") for m in values]
    return [m for m in retained if m]


def write_attestation(
    *,
    case: Case,
    actor,
    items: Any,
    method: str,
    tool: str,
    performed_by,
    performed_at: datetime,
    verification: str,
    verified_by=None,
    retained_metadata: Sequence[str] = (),
    retention_reason: str = "",
    evidence: Sequence[IncomingFile] = (),
) -> DeletionAttestation:
    """Create the deletion attestation of the locked ``case`` and its event.

    Guarantees a non-empty, well-formed manifest, a known method, a tool, a
    stated verification by someone other than the performer, and a reason
    whenever metadata is retained.
    """
    cleaned = clean_deletion_items(items)
    if method not in DeletionMethod.values:
        raise ValidationFailed(
            f"Unknown deletion method {method!r}: use one of {', '.join(DeletionMethod.values)}.",
            field="method",
        )
    tool = clean_text(
        tool,
        model=DeletionAttestation,
        field="tool",
        required=True,
        message="Name the tool used to delete the data.",
    )
    verification = clean_text(verification, field="verification")
    if not verification:
        raise EvidenceRequired("Say how the deletion was verified.", field="verification")
    if performed_by is None or not principal_for(performed_by).is_staff_member:
        raise ValidationFailed(
            "The deletion must be performed by a staff member.", field="performed_by"
        )
    if verified_by is None:
        raise EvidenceRequired(
            "Name who verified the deletion (someone other than who performed it).",
            field="verified_by",
        )
    if verified_by.pk == performed_by.pk:
        raise ValidationFailed(
            "The verifier must be someone other than the person who deleted the data.",
            field="verified_by",
        )
    if not principal_for(verified_by).is_staff_member:
        raise ValidationFailed("The verifier must be a staff member.", field="verified_by")
    retained = clean_retained_metadata(retained_metadata)
    retention_reason = clean_text(
        retention_reason, model=DeletionAttestation, field="retention_reason"
    )
    if retained and not retention_reason:
        raise ValidationFailed("Say why metadata is retained.", field="retention_reason")
    files = write_evidence_files(
        case=case,
        actor=actor,
        files=[f.as_kind(EvidenceKind.DELETION_LOG) for f in evidence],
    )
    attestation = DeletionAttestation.objects.create(
        case=case,
        items=cleaned,
        total_bytes=sum(i["bytes"] for i in cleaned),
        method=method,
        tool=tool,
        performed_by=performed_by,
        performed_at=performed_at,
        verified_by=verified_by,
        verification=verification,
        retained_metadata=retained,
        retention_reason=retention_reason,
    )
    if files:  # a new row has none yet
        attestation.evidence.add(*files)
    attestation.content_sha256 = attestation.content_digest()
    attestation.save(update_fields=["content_sha256"])
    append_event(
        case=case,
        kind=EventKind.DELETION_ATTESTED,
        actor=actor,
        occurred_at=performed_at,
        payload={
            "attestation_id": attestation.pk,
            "content_sha256": attestation.content_sha256,
            "items": len(cleaned),
            "total_bytes": attestation.total_bytes,
            "method": method,
            "retained_metadata": retained,
            "record": record_ref(attestation, linked=[f.pk for f in files]),
        },
    )
    return attestation


@validated
def countersign_attestation(*, actor: User, case: Case, statement: str = "") -> DeletionAttestation:
    """The vendor countersigns the case's deletion attestation, once (the
    table's precondition refuses a case without one, or one countersigned)."""
    with locked_case(case, actor=actor, action="countersign_attestation") as locked:
        attestation = DeletionAttestation.objects.select_for_update().get(case=locked)
        attestation.countersigned_by = actor
        attestation.countersigned_at = now()
        attestation.countersignature_statement = clean_text(statement, field="statement")
        attestation.save(
            update_fields=["countersigned_by", "countersigned_at", "countersignature_statement"]
        )
        append_event(
            case=locked,
            kind=EventKind.ATTESTATION_COUNTERSIGNED,
            actor=actor,
            occurred_at=attestation.countersigned_at,
            payload={
                "attestation_id": attestation.pk,
                "content_sha256": attestation.content_sha256,
                "statement": attestation.countersignature_statement,
                "record": record_ref(attestation),
            },
        )
        notices.vendor_acted(locked, actor, "countersign_attestation", statement)
        return attestation
