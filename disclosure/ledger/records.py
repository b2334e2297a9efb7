"""Checks that the records the ledger vouches for still say what it recorded.

Communications, evidence files and deletion attestations live in ordinary
tables. Their ledger events carry their fingerprints (the body's SHA-256,
the file's SHA-256 and size, the attestation's content hash), so an edit
made behind the services' back shows up here, named by the event's seq.
With ``deep``, every evidence blob is read back from storage and re-hashed.
"""

import hashlib
from collections.abc import Callable
from typing import Any

from disclosure.comms.models import Communication
from disclosure.core.hashing import sha256_hex
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.evidence.storage import CHUNK, open_blob

from .models import CaseEvent, EventKind

Problem = tuple[int, str]  # (seq, what is wrong)


def _communication(event: CaseEvent, comm: Communication | None, deep: bool) -> str | None:
    p = event.payload
    if comm is None:
        return f"communication {p['communication_id']} is missing"
    recorded = {
        "direction": comm.direction,
        "channel": comm.channel,
        "sender": comm.sender,
        "recipients": comm.recipients,
        "subject": comm.subject,
        "body_sha256": sha256_hex(comm.body.encode("utf-8")),
    }
    changed = sorted(k for k, v in recorded.items() if p.get(k) != v)
    if changed:
        return f"communication {comm.pk} differs from the ledger ({', '.join(changed)})"
    return None


def _evidence(event: CaseEvent, evidence: EvidenceFile | None, deep: bool) -> str | None:
    p = event.payload
    if evidence is None:
        return f"evidence file {p['evidence_id']} is missing"
    if (evidence.sha256, evidence.size) != (p["sha256"], p["size"]):
        return f"evidence file {evidence.pk} differs from the ledger (sha256 or size)"
    if deep:
        digest = hashlib.sha256()
        try:
            with open_blob(evidence.sha256) as blob:
                while chunk := blob.read(CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            return f"the stored file of evidence {evidence.pk} is missing"
        if digest.hexdigest() != evidence.sha256:
            return f"the stored file of evidence {evidence.pk} does not match its SHA-256"
    return None


def _attestation(event: CaseEvent, att: DeletionAttestation | None, deep: bool) -> str | None:
    p = event.payload
    if att is None:
        return f"deletion attestation {p['attestation_id']} is missing"
    if att.content_sha256 != p["content_sha256"] or att.content_digest() != p["content_sha256"]:
        return f"deletion attestation {att.pk} differs from the ledger"
    return None


# kind -> (payload key of the row's id, queryset of the rows, check)
_CHECKS: dict[str, tuple[str, Callable[[list[int]], Any], Callable]] = {
    EventKind.COMMUNICATION_LOGGED: (
        "communication_id",
        lambda ids: Communication.objects.filter(pk__in=ids),
        _communication,
    ),
    EventKind.EVIDENCE_ATTACHED: (
        "evidence_id",
        lambda ids: EvidenceFile.objects.filter(pk__in=ids),
        _evidence,
    ),
    EventKind.DELETION_ATTESTED: (
        "attestation_id",
        lambda ids: (
            DeletionAttestation.objects.filter(pk__in=ids)
            .select_related("case")
            .prefetch_related("evidence")
        ),
        _attestation,
    ),
}


CHUNK_EVENTS = 500


def verify_records(case, *, deep: bool = False) -> Problem | None:
    """The first event (by seq) whose record no longer matches, or None.

    Works through the events in chunks, with one query per kind of record and
    chunk, so memory stays flat however long the chain is.
    """
    events = (
        CaseEvent.objects.filter(case_id=case.pk, kind__in=list(_CHECKS))
        .order_by("seq")
        .only("seq", "kind", "payload")
    )
    chunk: list[CaseEvent] = []
    for event in events.iterator(chunk_size=CHUNK_EVENTS):
        chunk.append(event)
        if len(chunk) == CHUNK_EVENTS:
            problem = _verify_chunk(chunk, deep)
            if problem:
                return problem
            chunk = []
    return _verify_chunk(chunk, deep) if chunk else None


def _verify_chunk(events: list[CaseEvent], deep: bool) -> Problem | None:
    rows: dict[str, dict[int, Any]] = {}
    for kind, (key, query, _) in _CHECKS.items():
        ids = [e.payload[key] for e in events if e.kind == kind]
        rows[kind] = {r.pk: r for r in query(ids)} if ids else {}
    for event in events:
        key, _, check = _CHECKS[event.kind]
        problem = check(event, rows[event.kind].get(event.payload[key]), deep)
        if problem:
            return event.seq, problem
    return None
