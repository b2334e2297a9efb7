"""Merkle tree hashes as RFC 9162 (Certificate Transparency v2) defines them.

    MTH({})      = SHA-256()
    MTH({d0})    = SHA-256(0x00 || d0)
    MTH(D[n])    = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])),
                   k the largest power of two smaller than n

``inclusion_proof`` and ``verify_inclusion`` follow sections 2.1.3.1 and
2.1.3.2, so a third party can check one case's entry against a root.
"""

import hashlib
from collections.abc import Sequence


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def root_of_leaves(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes (already ``leaf_hash``ed), iteratively: memory
    and time linear in the number of leaves."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    # Bottom-up pairing gives the RFC's tree: a lone last node moves up
    # unchanged, which is the same as splitting at the largest power of two.
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


def merkle_root(data: Sequence[bytes]) -> bytes:
    return root_of_leaves([leaf_hash(d) for d in data])


def inclusion_proof(index: int, data: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1."""

    def path(m: int, leaves: Sequence[bytes]) -> list[bytes]:
        n = len(leaves)
        if n <= 1:
            return []
        k = _split(n)
        if m < k:
            return [*path(m, leaves[:k]), root_of_leaves(leaves[k:])]
        return [*path(m - k, leaves[k:]), root_of_leaves(leaves[:k])]

    if not 0 <= index < len(data):
        raise IndexError("leaf index out of range")
    return path(index, [leaf_hash(d) for d in data])


def verify_inclusion(index: int, size: int, data: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: whether ``data`` is leaf ``index`` of a tree
    of ``size`` leaves with this ``root``."""
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = leaf_hash(data)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root
