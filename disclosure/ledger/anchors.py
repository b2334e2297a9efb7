"""The anchor directory against the database's checkpoints.

Every checkpoint is written, after its transaction commits, to
``DISCLOSURE_ANCHOR_DIR`` as ``checkpoint-<seq:08d>.json`` (ledger.checkpoints),
a place meant to be write-once or copied off-site. Whoever can rewrite the
database can delete or replace its checkpoint rows (and rewrite the chains to
match), but not those files. So verify_ledger reads the directory by default:

- every anchor file must be a well-formed checkpoint signed by a trusted key
  whose hash matches its content and whose number is its file name's, linked
  by ``prev_hash`` to the anchor file before it;
- the database must hold the same checkpoint (by hash) for every anchor file:
  a database with fewer checkpoints than the anchor files, or different ones,
  is reported, checkpoint by checkpoint;
- the chains are then checked against the newest anchor file's heads when the
  database does not hold that very checkpoint (``AnchorCheck.heads``).

A database checkpoint without an anchor file is only a note: the file is
written after the commit, and a restore of the directory may lag.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from .checkpoints import FORMAT, Heads, _check_document, entries_root
from .models import Checkpoint

_NAME = re.compile(r"checkpoint-(\d{8})\.json")


@dataclass
class AnchorCheck:
    directory: Path
    files: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The newest anchor's heads, when the chains must be checked against it
    # (the database lacks or differs from that checkpoint); else None.
    heads: Heads | None = None


def _read(path: Path) -> dict:
    doc = json.loads(path.read_text())
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError("not a Disclosure ledger checkpoint")
    if not isinstance(doc.get("checkpoint"), dict):
        raise ValueError("no checkpoint body")
    for key in ("signature", "hash"):
        if not isinstance(doc.get(key), str):
            raise ValueError(f"no {key}")
    if not isinstance(doc.get("entries"), list):
        raise ValueError("no entries")
    return doc


def anchor_files(directory: Path) -> dict[int, Path]:
    """The anchor files of ``directory`` by checkpoint number (conflict
    copies, ``checkpoint-<seq>.conflict-<hash>.json``, are not among them)."""
    if not directory.is_dir():
        return {}
    found = {}
    for path in directory.iterdir():
        match = _NAME.fullmatch(path.name)
        if match:
            found[int(match.group(1))] = path
    return dict(sorted(found.items()))


def check_anchor_dir(directory: str | Path | None = None) -> AnchorCheck:
    """Compare the anchor files of ``directory`` (default:
    ``settings.DISCLOSURE_ANCHOR_DIR``) with the database's checkpoints; see
    the module's docstring for what is a problem. Reads each file once; the
    Merkle root is recomputed for the newest file only (older files' entries
    vouch for nothing the newest does not)."""
    directory = Path(directory if directory is not None else settings.DISCLOSURE_ANCHOR_DIR)
    result = AnchorCheck(directory)
    files = anchor_files(directory)
    result.files = len(files)
    stored = dict(Checkpoint.objects.values_list("seq", "hash"))
    if not files:
        result.notes.append(f"no anchor files in {directory}")
        if stored:
            result.notes.append(
                f"the database's {len(stored)} checkpoint(s) have no copy in the anchor directory"
            )
        return result
    previous: tuple[int, str] | None = None
    for seq, path in files.items():
        try:
            doc = _read(path)
        except (OSError, ValueError) as exc:
            result.problems.append(f"anchor {path.name}: unreadable checkpoint ({exc})")
            previous = None
            continue
        body, digest = doc["checkpoint"], doc["hash"]
        problems = [
            f"anchor {path.name}: {p}" for p in _check_document(body, doc["signature"], digest)
        ]
        if body.get("seq") != seq:
            problems.append(f"anchor {path.name} holds checkpoint #{body.get('seq')}")
        if previous is not None and previous[0] == seq - 1 and body.get("prev_hash") != previous[1]:
            problems.append(f"anchor {path.name} does not link to checkpoint #{seq - 1}")
        if stored.get(seq) is None:
            problems.append(
                f"the database has no checkpoint #{seq}, but the anchor directory has "
                f"{path.name} (checkpoint rows were deleted)"
            )
        elif stored[seq] != digest:
            problems.append(
                f"the database's checkpoint #{seq} differs from the anchor file {path.name} "
                "(checkpoint rows were replaced)"
            )
        result.problems += problems
        previous = (seq, digest)
    unanchored = sorted(set(stored) - set(files))
    if unanchored:
        result.notes.append(
            f"checkpoint(s) {', '.join(f'#{s}' for s in unanchored)} of the database have "
            "no anchor file"
        )
    newest = _newest_valid(files)
    if newest is not None:
        seq, path, doc = newest
        entries = doc["entries"]
        try:
            root_ok = entries_root(entries) == doc["checkpoint"].get("root")
            heads = {ref: (s, head) for ref, s, head in entries}
        except (TypeError, ValueError):
            root_ok, heads = False, {}
        if not root_ok:
            result.problems.append(f"anchor {path.name}: its entries do not match its Merkle root")
        elif stored.get(seq) != doc["hash"]:
            result.heads = heads
    return result


def _newest_valid(files: dict[int, Path]) -> tuple[int, Path, dict] | None:
    """The newest anchor file that is signed, hashed and numbered correctly
    (whatever the database holds), to check the chains against."""
    for seq in sorted(files, reverse=True):
        try:
            doc = _read(files[seq])
        except (OSError, ValueError):
            continue
        body = doc["checkpoint"]
        if body.get("seq") == seq and not _check_document(body, doc["signature"], doc["hash"]):
            return seq, files[seq], doc
    return None
