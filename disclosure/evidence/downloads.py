"""Reading evidence files out of the tracker: access-checked, and logged.

Every interface (staff UI, portal, API) hands a file to a user through
``open_download``, so every download is in the case's ledger: who took
which file (by its SHA-256), when, and through which interface, and no
download hands out bytes that do not hash to that SHA-256
(evidence.integrity). Exports carry the evidence manifest (hashes), never
file content."""

from dataclasses import dataclass
from typing import IO

from disclosure.accounts import audit
from disclosure.cases import access, selectors
from disclosure.cases.guards import locked_case
from disclosure.cases.models import Case
from disclosure.core.errors import NotFound, ValidationFailed
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.services import append_event

from . import integrity
from .models import EvidenceFile

INTERFACES = ("staff", "portal", "api")


class EvidencePurged(integrity.EvidenceCorrupt):
    """The file's content was deleted under the retention rule
    (evidence.retention): its hash, size and name stay, its bytes are gone.
    A kind of EvidenceCorrupt so that every interface refuses it the same
    way (nothing served, the message shown), but nobody is alarmed."""

    code = "evidence_purged"
    http_status = 410


@dataclass(frozen=True)
class Download:
    evidence: EvidenceFile
    stream: IO[bytes]
    event: CaseEvent


def open_download(*, actor, case: Case, evidence_id: int, via: str) -> Download:
    """Open evidence file ``evidence_id`` of ``case`` for ``actor``.

    Guarantees: the file is one ``actor`` may list (``selectors.evidence_for``:
    a vendor never gets a file that is internal); an internal
    ``evidence_downloaded`` event (actor, evidence id, SHA-256, interface) is
    appended to the case's ledger before the stream is returned; the
    stream holds exactly the bytes that were hashed and matched the file's
    SHA-256. Raises NotFound for a case or file the actor may not see, or
    another case's file (nothing is logged to the ledger then),
    EvidencePurged for a file whose content was purged (nothing logged), and
    EvidenceCorrupt when the stored bytes do not match or are gone: nothing
    is served, an integrity alarm is recorded (committed) with its ledger
    event, and staff are e-mailed (``integrity.record_failure``).
    """
    if via not in INTERFACES:
        raise ValidationFailed(f"Unknown interface {via!r}.", field="via")
    if not access.can_see(actor, case):
        raise NotFound("No such case.")
    evidence = selectors.evidence_for(actor, case).filter(pk=evidence_id).first()
    if evidence is None:
        raise NotFound("No such evidence file.")
    if evidence.purged_at is not None:
        raise EvidencePurged(
            f"The content of {evidence.original_name} was purged on "
            f"{evidence.purged_at:%Y-%m-%d} under the retention rule; its SHA-256 "
            f"({evidence.sha256}), size and name are kept."
        )
    try:
        stream = integrity.read_verified(evidence.sha256)
    except integrity.Mismatch as mismatch:
        integrity.record_failure(mismatch=mismatch, actor=actor, detected_by=f"download:{via}")
        raise integrity.corrupt_error(evidence, mismatch) from None
    try:
        with locked_case(case, actor=actor, action=access.Action.VIEW, stage_checked=False) as c:
            event = append_event(
                case=c,
                kind=EventKind.EVIDENCE_DOWNLOADED,
                actor=actor,
                payload={"evidence_id": evidence.pk, "sha256": evidence.sha256, "via": via},
                internal=True,
            )
            audit.record(audit.Kind.DOWNLOAD, user=actor, interface=via, case=c.reference,
                         evidence_id=evidence.pk, sha256=evidence.sha256)  # fmt: skip
    except BaseException:
        stream.close()
        raise
    return Download(evidence, stream, event)
