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
    """Insert the unsaved ``rows`` and return them with their ids, the
    columns ``bulk_create`` writes: on PostgreSQL one COPY
    (``comms.copyrows``: no arrays of every column to quote), elsewhere one
    INSERT per 500 (SQLite 3.35+ returns the ids)."""
    if not rows:
        return []
    from disclosure.comms import copyrows  # comms depends on evidence, not the other way

    written = copyrows.insert(list(rows))
    if any(row.pk is None for row in written):
        raise RuntimeError("The database did not return the new evidence rows' ids.")
    return written
