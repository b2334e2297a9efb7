"""Merkle trees against RFC 9162 written out afresh (sections 2.1.1, 2.1.3.1
and 2.1.3.2), for every tree size up to 17: roots, inclusion proofs and the
checks a third party makes. Written to kill the mutants of ledger/merkle.py
that the checkpoint tests (two cases, so a two-leaf tree) cannot see."""

import hashlib

import pytest

from disclosure.ledger import merkle

SIZES = range(1, 18)  # 1, 2, 3 (a lone right node), 4, 5 ... 17: every shape up to 2**4 + 1


def _k(n: int) -> int:
    """The largest power of two smaller than n (RFC 9162, 2.1.1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d: list[bytes]) -> bytes:
    """MTH, recursively, exactly as section 2.1.1 states it."""
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m: int, d: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]), section 2.1.3.1."""
    if len(d) <= 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*path(m, d[:k]), mth(d[k:])]
    return [*path(m - k, d[k:]), mth(d[:k])]


def data(n: int) -> list[bytes]:
    return [f"leaf {i}".encode() for i in range(n)]


def test_the_empty_tree_is_the_hash_of_nothing():
    # SHA-256 of the empty string, from FIPS 180-4's examples.
    assert merkle.merkle_root([]).hex() == (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_a_single_leaf_and_two_leaves_by_hand():
    a, b = b"a", b"b"
    leaf_a = hashlib.sha256(b"\x00a").digest()
    leaf_b = hashlib.sha256(b"\x00b").digest()
    assert merkle.merkle_root([a]) == leaf_a
    assert merkle.merkle_root([a, b]) == hashlib.sha256(b"\x01" + leaf_a + leaf_b).digest()


@pytest.mark.parametrize("n", SIZES)
def test_root_matches_the_recursive_definition(n):
    assert merkle.merkle_root(data(n)) == mth(data(n))


def test_three_leaves_keep_the_lone_last_leaf_on_the_right():
    a, b, c = (hashlib.sha256(b"\x00" + x).digest() for x in (b"a", b"b", b"c"))
    ab = hashlib.sha256(b"\x01" + a + b).digest()
    assert merkle.merkle_root([b"a", b"b", b"c"]) == hashlib.sha256(b"\x01" + ab + c).digest()


@pytest.mark.parametrize("n", SIZES)
def test_every_inclusion_proof_is_the_rfc_path_and_verifies(n):
    d, root = data(n), mth(data(n))
    for m in range(n):
        proof = merkle.inclusion_proof(m, d)
        assert proof == path(m, d), (n, m)
        assert merkle.verify_inclusion(m, n, d[m], proof, root), (n, m)


@pytest.mark.parametrize("n", [2, 3, 5, 6, 7, 11, 16, 17])
def test_a_proof_does_not_verify_for_another_leaf_index_or_root(n):
    d, root = data(n), mth(data(n))
    for m in range(n):
        proof = path(m, d)
        for other in range(n):
            if other != m:
                assert not merkle.verify_inclusion(other, n, d[m], proof, root), (n, m, other)
        assert not merkle.verify_inclusion(m, n, b"forged", proof, root)
        assert not merkle.verify_inclusion(m, n, d[m], proof, mth([*d[:-1], b"x"]))


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8, 9])
def test_a_proof_checked_against_the_wrong_size_fails(n):
    d, root = data(n), mth(data(n))
    for m in range(n):
        proof = path(m, d)
        # (A size with a proof of the same shape, 3 and 4 for leaf 0, may
        # verify: RFC 9162 binds the size only through the proof's shape.)
        for size in (m, 2 * n + 1, 4 * n):
            assert not merkle.verify_inclusion(m, size, d[m], proof, root), (n, m, size)


def test_index_at_or_past_the_size_never_verifies():
    d = data(4)
    root = mth(d)
    # Even with a proof and root that would fit leaf 3 of 4.
    assert not merkle.verify_inclusion(4, 4, d[3], path(3, d), root)
    assert not merkle.verify_inclusion(5, 4, d[3], path(3, d), root)
    assert not merkle.verify_inclusion(1, 1, d[0], [], mth(d[:1]))


def test_a_proof_with_an_extra_hash_fails():
    d = data(4)
    root = mth(d)
    proof = path(2, d)
    assert not merkle.verify_inclusion(2, 4, d[2], [*proof, root], root)
    assert not merkle.verify_inclusion(0, 1, d[0], [root], mth(d[:1]))


def test_a_truncated_proof_fails():
    d = data(8)
    proof = path(5, d)
    assert not merkle.verify_inclusion(5, 8, d[5], proof[:-1], mth(d))


@pytest.mark.parametrize(("index", "n"), [(-1, 3), (3, 3), (0, 0)])
def test_out_of_range_index_is_refused(index, n):
    with pytest.raises(IndexError, match=r"^leaf index out of range$"):
        merkle.inclusion_proof(index, data(n))
