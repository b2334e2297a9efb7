"""Benchmark of evidence integrity checking: SHA-256 over the storage read
path, and what a full pass over 100 GB of stored evidence takes.

    .venv/bin/python bench/evidence_hash.py          # 512 MB in 4 blobs
    BENCH_EVIDENCE_MB=2048 .venv/bin/python bench/evidence_hash.py

It writes random blobs into a throw-away evidence storage (a temporary
folder) and reads them back through the application's own code:
``integrity.hash_blob`` (the routine check: storage open, 1 MiB chunks,
SHA-256) and ``integrity.read_verified`` (a download: the same, plus the copy
into the private spooled file that is then served). Needs no database.

The blobs were just written, so they are read from the page cache: the
figures are the CPU's bound (hashing and copying). On real storage the pass
is bounded by the slower of this and the disk's or object store's read
rate; the 100 GB figures below are for the CPU alone.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.files.storage import storages  # noqa: E402

TOTAL_MB = int(os.environ.get("BENCH_EVIDENCE_MB", 512))
BLOBS = int(os.environ.get("BENCH_EVIDENCE_BLOBS", 4))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
MB = 1024 * 1024
PASS_BYTES = 100 * 1000**3  # 100 GB


def _write_blobs(blob_mb: int) -> list[str]:
    from disclosure.evidence.storage import store_stream

    hashes = []
    for _ in range(BLOBS):
        with tempfile.TemporaryFile() as f:
            for _ in range(blob_mb):
                f.write(os.urandom(MB))
            f.seek(0)
            hashes.append(store_stream(f, max_bytes=blob_mb * MB).sha256)
    return hashes


def _rate(label: str, fn, hashes: list[str], total: int) -> float:
    best = 0.0
    rates = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for sha in hashes:
            fn(sha)
        seconds = time.perf_counter() - start
        rates.append(total / MB / seconds)
        best = max(best, rates[-1])
    spread = ", ".join(f"{r:,.0f}" for r in rates)
    hours = PASS_BYTES / (best * MB) / 3600
    print(
        f"{label:<44} {best:8,.0f} MiB/s (rounds: {spread}); "
        f"100 GB: {hours * 60:,.0f} min on one core"
    )
    return best


def main() -> None:
    from disclosure.evidence import integrity

    root = tempfile.mkdtemp(prefix="bench-evidence-")
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": root, "base_url": None},
        },
    }
    storages._storages.pop("evidence", None)
    try:
        blob_mb = max(1, TOTAL_MB // BLOBS)
        hashes = _write_blobs(blob_mb)
        total = blob_mb * MB * BLOBS
        print(f"{BLOBS} blobs of {blob_mb} MiB ({total / MB:,.0f} MiB), best of {ROUNDS} rounds")

        def check(sha):
            assert integrity.hash_blob(sha) == sha

        def download(sha):
            integrity.read_verified(sha).close()

        import hashlib

        block = os.urandom(64 * MB)

        def in_memory(_sha):  # the bound: SHA-256 alone, no storage
            hashlib.sha256(block).digest()

        chunks = [""] * (total // len(block))
        _rate("SHA-256 of bytes in memory (hashlib)", in_memory, chunks, total)
        rate = _rate("routine check (hash_blob)", check, hashes, total)
        _rate("download (read_verified: hash + copy)", download, hashes, total)
        pass_hours = settings.EVIDENCE_CHECK_PASS_HOURS
        per_run = PASS_BYTES / pass_hours
        print(
            f"a pass over 100 GB every {pass_hours} h: {per_run / 1000**3:,.2f} GB an hourly run, "
            f"about {per_run / (rate * MB):,.0f} s of one core at {rate:,.0f} MiB/s"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
