"""Evidence of many messages at once (comms.inbound_batch): which files a
set of cases holds already, in one query, and new evidence rows written
with one INSERT. The caller keeps every rule of ``services.write_evidence``
(stored blob, kind, name, description, internal flag, one EVIDENCE_ATTACHED
event per row in the case's lock) and appends the events itself."""

from collections.abc import Iterable, Sequence

from .models import EvidenceFile


def held(pairs: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """Those of ``pairs`` (case id, SHA-256) a case holds as evidence: one query."""
    pairs = set(pairs)
    if not pairs:
        return set()
    cases = sorted({c for c, _ in pairs})
    shas = sorted({s for _, s in pairs})
    found = EvidenceFile.objects.filter(case_id__in=cases, sha256__in=shas).values_list(
        "case_id", "sha256"
    )
    return {pair for pair in found if pair in pairs}


def create_files(rows: Sequence[EvidenceFile]) -> list[EvidenceFile]:
    """Insert the unsaved ``rows`` (one INSERT per 500) and return them with
    their ids (PostgreSQL and SQLite 3.35+ return them)."""
    if not rows:
        return []
    written = EvidenceFile.objects.bulk_create(list(rows), batch_size=500)
    if any(row.pk is None for row in written):
        raise RuntimeError("The database did not return the new evidence rows' ids.")
    return written
