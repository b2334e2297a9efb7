"""The signing key, canonical JSON and the event hash: what the mutation pass
found unchecked in ledger/signing.py, core/canonical.py and ledger/chain.py."""

import hashlib
import stat
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from disclosure.core.canonical import canonical_json
from disclosure.ledger import signing
from disclosure.ledger.chain import body_of, compute_hash
from disclosure.ledger.models import CaseEvent


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    signing._key_from.cache_clear()
    yield
    signing._key_from.cache_clear()


def _pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_a_key_of_another_kind_is_refused(settings):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = _pem(ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ImproperlyConfigured) as exc:
        signing.signing_key()
    assert str(exc.value) == "DISCLOSURE_LEDGER_SIGNING_KEY must be an Ed25519 key."


def test_debug_without_a_key_makes_one_private_development_key(settings, tmp_path):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = ""
    settings.DEBUG = True
    settings.BASE_DIR = tmp_path
    key = signing.signing_key()
    path = tmp_path / "var" / "keys" / "ledger-ed25519.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signing._key_from.cache_clear()
    again = signing.signing_key()  # read back from the file, not made anew
    assert signing.public_hex(again) == signing.public_hex(key)


def test_production_without_a_key_is_refused_but_the_trusted_list_still_works(settings):
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = ""
    settings.DEBUG = False
    other = signing.public_hex(Ed25519PrivateKey.generate())
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = [other]
    with pytest.raises(ImproperlyConfigured, match="DISCLOSURE_LEDGER_SIGNING_KEY is not set"):
        signing.signing_key()
    assert signing.trusted_public_keys() == {other}


def test_trusted_keys_are_read_in_any_case_and_spacing(settings):
    key = Ed25519PrivateKey.generate()
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = _pem(key)
    other = signing.public_hex(Ed25519PrivateKey.generate())
    settings.DISCLOSURE_LEDGER_TRUSTED_KEYS = [f"  {other.upper()} ", " "]
    assert signing.trusted_public_keys() == {other, signing.public_hex(key)}


def test_public_hex_of_a_public_key():
    key = Ed25519PrivateKey.generate()
    raw = (
        key.public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        .hex()
    )
    assert signing.public_hex(key.public_key()) == raw == signing.public_hex(key)


def test_sets_become_sorted_lists():
    assert canonical_json({"s": {3, 1, 2}, "f": frozenset({"b", "a"})}) == (
        b'{"f":["a","b"],"s":[1,2,3]}'
    )


def test_an_unserialisable_value_is_named():
    with pytest.raises(TypeError, match=r"^object is not canonical-JSON serialisable$"):
        canonical_json({"x": object()})


def test_the_writer_refuses_a_body_with_a_float():
    with pytest.raises(ValueError, match="canonical JSON refuses floats"):
        compute_hash({"prev_hash": "0" * 64, "payload": {"amount": 2.5}})


def test_body_of_keeps_the_event_format_version():
    at = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    event = CaseEvent(
        v=7, seq=1, kind="case_opened", occurred_at=at, recorded_at=at,
        actor_snapshot={"id": None}, payload={}, internal=False, state="s", prev_hash="0" * 64,
    )  # fmt: skip
    body = body_of(event, "DSC-2024-0001")
    assert body == {
        "v": 7, "case": "DSC-2024-0001", "seq": 1, "kind": "case_opened",
        "occurred_at": "2024-03-01T10:00:00.000000Z", "recorded_at": "2024-03-01T10:00:00.000000Z",
        "actor": {"id": None}, "payload": {}, "internal": False, "state": "s",
        "prev_hash": "0" * 64,
    }  # fmt: skip
    text = (
        '{"actor":{"id":null},"case":"DSC-2024-0001","internal":false,"kind":"case_opened",'
        '"occurred_at":"2024-03-01T10:00:00.000000Z","payload":{},"prev_hash":"' + "0" * 64 + '",'
        '"recorded_at":"2024-03-01T10:00:00.000000Z","seq":1,"state":"s","v":7}'
    )
    assert compute_hash(body) == hashlib.sha256(("0" * 64 + text).encode()).hexdigest()
