"""Signed checkpoints: every case's chain head at one moment, out of reach.

A checkpoint lists ``[reference, seq, head]`` for every case (sorted by
reference), their Merkle root (RFC 9162), the previous checkpoint's hash and
the time, signed with the deployment's Ed25519 key. It is stored in its own
append-only table and written as a JSON file to the anchor directory, which
is meant for write-once storage or copying off-site. A checkpoint vouches
only for chains it has verified: a case whose chain no longer extends its
last checkpointed head keeps that old entry and is reported.
"""

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from disclosure.cases.models import Case
from disclosure.core.canonical import canonical_json
from disclosure.core.hashing import ZERO_HASH, sha256_hex
from disclosure.core.timeutils import iso_utc, now

from . import merkle, signing, timestamps
from .models import Checkpoint
from .verify import CASES_PER_CHUNK, _verify_chunk

log = logging.getLogger(__name__)

FORMAT = "disclosure-ledger-checkpoint"
FORMAT_VERSION = 1
Heads = dict[str, tuple[int, str]]


def leaf(reference: str, seq: int, head: str) -> bytes:
    """The Merkle leaf of one case's entry."""
    return canonical_json([reference, seq, head])


def entries_root(entries: list[list[Any]]) -> str:
    return merkle.merkle_root([leaf(*e) for e in entries]).hex()


def checkpoint_body(cp: Checkpoint) -> dict[str, Any]:
    """What is signed, and hashed with the signature into ``cp.hash``."""
    return {
        "v": FORMAT_VERSION,
        "seq": cp.seq,
        "created_at": iso_utc(cp.created_at),
        "case_count": cp.case_count,
        "event_count": cp.event_count,
        "root": cp.root,
        "prev_hash": cp.prev_hash,
        "public_key": cp.public_key,
    }


def checkpoint_hash(body: Mapping[str, Any], signature: str) -> str:
    return sha256_hex(canonical_json({**body, "signature": signature}))


@dataclass
class CheckpointResult:
    checkpoint: Checkpoint | None
    problems: list[str] = field(default_factory=list)
    verified_cases: int = 0


def _heads(cp: Checkpoint | None) -> Heads:
    return {ref: (seq, head) for ref, seq, head in cp.entries} if cp else {}


# Serialises checkpoint writers on PostgreSQL. (SELECT ... FOR UPDATE would
# need UPDATE rights on the table, which the application's role lacks.)
_ADVISORY_LOCK = 0x4C454447  # "LEDG"


def _lock_checkpoints() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ADVISORY_LOCK])


def write_checkpoint(*, force: bool = False) -> CheckpointResult:
    """Write the next checkpoint, after verifying every chain that changed
    since the last one (its records included). Writes nothing when no chain
    changed, unless ``force``. Cases whose chain does not verify keep their
    last checkpointed entry (or none) and are listed in ``problems``.
    """
    result = CheckpointResult(None)
    with transaction.atomic():
        _lock_checkpoints()
        last = Checkpoint.objects.order_by("-seq").first()
        previous = _heads(last)
        cases = list(Case.objects.values_list("pk", "reference", "ledger_seq", "ledger_head"))
        heads: Heads = {}
        changed = []
        for pk, ref, seq, head in cases:
            if previous.get(ref) == (seq, head):
                heads[ref] = (seq, head)
            else:
                changed.append(pk)
        for start in range(0, len(changed), CASES_PER_CHUNK):
            for report in _verify_chunk(
                changed[start : start + CASES_PER_CHUNK], previous, False, True
            ):
                result.verified_cases += 1
                if report.ok:
                    heads[report.reference] = (report.events, report.head)
                else:
                    result.problems.append(f"{report.reference}: {report.problem}")
                    if report.reference in previous:
                        heads[report.reference] = previous[report.reference]
        present = {ref for _, ref, _, _ in cases}
        for ref in sorted(set(previous) - present):
            result.problems.append(f"{ref}: the checkpointed case is missing")
            heads[ref] = previous[ref]
        if last is not None and heads == previous and not force:
            return result
        entries = [[ref, *heads[ref]] for ref in sorted(heads)]
        cp = Checkpoint(
            seq=(last.seq + 1) if last else 1,
            created_at=now(),
            case_count=len(entries),
            event_count=sum(e[1] for e in entries),
            root=entries_root(entries),
            prev_hash=last.hash if last else ZERO_HASH,
            entries=entries,
        )
        cp.public_key = signing.public_hex(signing.signing_key())
        body = checkpoint_body(cp)
        _, cp.signature = signing.sign(canonical_json(body))
        cp.hash = checkpoint_hash(body, cp.signature)
        cp.save()
        transaction.on_commit(lambda: write_anchor(cp))
        # Trusted time (RFC 3161), after the commit: a TSA that is down only
        # delays the token (timestamps.stamp_missing asks again).
        transaction.on_commit(lambda: timestamps.stamp_quietly(cp))
        result.checkpoint = cp
    return result


def anchor_path(seq: int) -> Path:
    return Path(settings.DISCLOSURE_ANCHOR_DIR) / f"checkpoint-{seq:08d}.json"


def checkpoint_document(cp: Checkpoint) -> dict[str, Any]:
    """The checkpoint as a self-contained document (anchor file, exports)."""
    return {
        "format": FORMAT,
        "checkpoint": checkpoint_body(cp),
        "signature": cp.signature,
        "hash": cp.hash,
        "entries": cp.entries,
    }


def write_anchor(cp: Checkpoint) -> Path:
    """Write ``cp`` to the anchor directory, once: a file is never
    overwritten. When a different checkpoint of the same number is there
    already (the database was restored or replaced), it is kept, the new one
    is written beside it as ``.conflict-<hash>.json`` and an error is logged."""
    path = anchor_path(cp.seq)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(checkpoint_document(cp), sort_keys=True, indent=1).encode()
    try:
        _write_once(path, data)
    except FileExistsError:
        if path.read_bytes() == data:
            return path
        log.error(
            "anchor %s holds a different checkpoint #%s: the database's checkpoints were "
            "replaced or rolled back; the new one is kept beside it",
            path,
            cp.seq,
        )
        path = path.with_name(f"{path.stem}.conflict-{cp.hash[:16]}.json")
        _write_once(path, data)
    return path


def _write_once(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _check_document(body: Mapping[str, Any], signature: str, digest: str) -> list[str]:
    seq = body.get("seq")
    problems = []
    if body.get("public_key") not in signing.trusted_public_keys():
        problems.append(f"checkpoint #{seq} is signed with a key this deployment does not trust")
    elif not signing.signature_valid(body["public_key"], signature, canonical_json(body)):
        problems.append(f"checkpoint #{seq}: the signature does not verify")
    if checkpoint_hash(body, signature) != digest:
        problems.append(f"checkpoint #{seq}: its hash does not match its content")
    return problems


def verify_checkpoints() -> tuple[Heads | None, list[str]]:
    """Check the checkpoint chain: seq without gaps, each linked to the
    previous by hash, each signed by a trusted key, and the latest's root
    recomputed from its entries. Returns the latest's heads and the problems."""
    problems: list[str] = []
    prev_hash, expected, latest = ZERO_HASH, 1, None
    for cp in Checkpoint.objects.order_by("seq").defer("entries").iterator():
        if cp.seq != expected:
            problems.append(f"checkpoint #{expected} is missing (found #{cp.seq})")
        if cp.prev_hash != prev_hash:
            problems.append(f"checkpoint #{cp.seq} does not link to the previous checkpoint")
        problems.extend(_check_document(checkpoint_body(cp), cp.signature, cp.hash))
        prev_hash, expected, latest = cp.hash, cp.seq + 1, cp
    if latest is None:
        return None, problems
    latest = Checkpoint.objects.get(pk=latest.pk)
    if entries_root(latest.entries) != latest.root or latest.case_count != len(latest.entries):
        problems.append(f"checkpoint #{latest.seq}: its entries do not match its Merkle root")
    return _heads(latest), problems


def load_checkpoint_file(path: str | Path) -> tuple[Heads, list[str]]:
    """Read a checkpoint kept outside the database and check it on its own
    (signature, hash, Merkle root) and against the database's copy."""
    try:
        doc = json.loads(Path(path).read_text())
        body, signature, digest = doc["checkpoint"], doc["signature"], doc["hash"]
        entries = doc["entries"]
        if doc.get("format") != FORMAT:
            raise ValueError("not a Disclosure ledger checkpoint")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return {}, [f"{path}: unreadable checkpoint ({exc})"]
    problems = _check_document(body, signature, digest)
    if entries_root(entries) != body.get("root"):
        problems.append(f"{path}: its entries do not match its Merkle root")
    stored = Checkpoint.objects.filter(seq=body.get("seq")).only("hash").first()
    if stored is None:
        problems.append(f"the database has no checkpoint #{body.get('seq')} (removed?)")
    elif stored.hash != digest:
        problems.append(f"the database's checkpoint #{body.get('seq')} differs from {path}")
    return {ref: (seq, head) for ref, seq, head in entries}, problems


def inclusion_proof(cp: Checkpoint, reference: str) -> dict[str, Any]:
    """The Merkle inclusion proof of ``reference``'s entry in ``cp``
    (RFC 9162), for an export to carry."""
    refs = [e[0] for e in cp.entries]
    index = refs.index(reference)
    data = [leaf(*e) for e in cp.entries]
    return {
        "leaf_index": index,
        "tree_size": len(data),
        "entry": cp.entries[index],
        "path": [h.hex() for h in merkle.inclusion_proof(index, data)],
    }
