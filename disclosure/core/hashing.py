"""SHA-256 helpers."""

import hashlib
import re
from collections.abc import Iterable

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
ZERO_HASH = "0" * 64


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_chunks(chunks: Iterable[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
    return digest.hexdigest()


def is_sha256(value: str) -> bool:
    return bool(SHA256_RE.match(value or ""))
