"""Removal of orphaned evidence blobs.

A blob is written to storage while its service's transaction is still open;
when that transaction rolls back (a later rule failed, the process died),
the blob is left with no EvidenceFile row pointing at it. Nothing links to
such a blob, but the firm promises to keep no copies it does not account
for, so a periodic sweep deletes blobs that no row references once they are
older than any transaction could still be open. It also removes the blob of
a purged file whose deletion a crash interrupted (evidence.retention).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from disclosure.comms.models import InboundMessage
from disclosure.core.timeutils import now

from .models import EvidenceFile
from .storage import evidence_storage

GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class SweepResult:
    examined: int
    deleted: list[str]


def _blob_names(storage) -> list[str]:
    """Every blob in the sha256/<aa>/<bb>/ tree."""
    names: list[str] = []
    try:
        # (An object store has no directories: it lists key prefixes, and
        # answers an empty listing where a folder would be missing.)
        dirs_aa, _ = storage.listdir("sha256")
    except FileNotFoundError:
        dirs_aa = []
    for aa in dirs_aa:
        dirs_bb, _ = storage.listdir(f"sha256/{aa}")
        for bb in dirs_bb:
            _, files = storage.listdir(f"sha256/{aa}/{bb}")
            names.extend(f"sha256/{aa}/{bb}/{f}" for f in files)
    return names


def sweep_orphan_blobs(*, older_than: datetime | None = None) -> SweepResult:
    """Delete stored blobs that no unpurged EvidenceFile and no
    InboundMessage not yet a communication (``raw_sha256``) references, and
    that were
    written before ``older_than`` (default: an hour ago). Referenced blobs
    and recent ones are never touched."""
    cutoff = older_than or now() - GRACE
    storage = evidence_storage()
    names = _blob_names(storage)
    hashes = {n.rsplit("/", 1)[-1]: n for n in names}
    referenced = set(
        EvidenceFile.objects.filter(sha256__in=list(hashes), purged_at=None).values_list(
            "sha256", flat=True
        )
    )
    # Received mail not (yet) a communication is kept under its raw
    # message's hash; once it is one, its raw_message evidence file holds it.
    referenced |= set(
        InboundMessage.objects.filter(
            raw_sha256__in=list(hashes), communication__isnull=True
        ).values_list("raw_sha256", flat=True)
    )
    deleted = []
    for sha, name in sorted(hashes.items()):
        if sha in referenced or storage.get_modified_time(name) >= cutoff:
            continue
        storage.delete(name)
        deleted.append(sha)
    return SweepResult(examined=len(names), deleted=deleted)
