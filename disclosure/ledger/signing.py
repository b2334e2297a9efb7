"""The deployment's Ed25519 key that signs ledger checkpoints.

``DISCLOSURE_LEDGER_SIGNING_KEY`` holds a PEM-encoded Ed25519 private key,
or the path of a file holding one. In debug mode without it, a development
key is generated on first use under ``var/keys/`` (never in production).
``DISCLOSURE_LEDGER_TRUSTED_KEYS`` lists further public keys (hex) whose
older checkpoints still verify after a key rotation.
"""

import contextlib
import os
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _dev_key_path() -> Path:
    return Path(settings.BASE_DIR) / "var" / "keys" / "ledger-ed25519.pem"


def _load_pem(data: bytes) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("DISCLOSURE_LEDGER_SIGNING_KEY must be an Ed25519 key.")
    return key


@lru_cache(maxsize=4)
def _key_from(value: str, debug: bool) -> Ed25519PrivateKey:
    if value.strip().startswith("-----BEGIN"):
        return _load_pem(value.encode())
    if value:
        return _load_pem(Path(value).read_bytes())
    if not debug:
        raise ImproperlyConfigured(
            "DISCLOSURE_LEDGER_SIGNING_KEY is not set: production needs the deployment's "
            "Ed25519 key to sign ledger checkpoints (see README)."
        )
    path = _dev_key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(pem)
    return _load_pem(path.read_bytes())


def signing_key() -> Ed25519PrivateKey:
    """The key that signs new checkpoints."""
    return _key_from(settings.DISCLOSURE_LEDGER_SIGNING_KEY, settings.DEBUG)


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def trusted_public_keys() -> set[str]:
    """Public keys (hex) whose signatures the verifier accepts."""
    keys = {k.strip().lower() for k in settings.DISCLOSURE_LEDGER_TRUSTED_KEYS if k.strip()}
    with contextlib.suppress(ImproperlyConfigured):  # no key here: trust only the list
        keys.add(public_hex(signing_key()))
    return keys


def published_public_keys() -> list[str]:
    """The public keys (hex, lower case) to hand to verifiers, each once:
    the signing key's first (when one is set, or generated in debug mode),
    then ``DISCLOSURE_LEDGER_TRUSTED_KEYS`` in their order. A set key that
    cannot be read, or a listed key that is not 64 hex digits, raises
    ImproperlyConfigured; an empty list means no key is configured."""
    keys: list[str] = []
    if (settings.DISCLOSURE_LEDGER_SIGNING_KEY or "").strip() or settings.DEBUG:
        try:
            keys.append(public_hex(signing_key()))
        except (OSError, ValueError, TypeError) as exc:
            raise ImproperlyConfigured(
                f"DISCLOSURE_LEDGER_SIGNING_KEY cannot be read as an Ed25519 key ({exc})"
            ) from exc
    for listed in settings.DISCLOSURE_LEDGER_TRUSTED_KEYS:
        key = listed.strip().lower()
        if not key:
            continue
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ImproperlyConfigured(
                f"DISCLOSURE_LEDGER_TRUSTED_KEYS: {listed!r} is not an Ed25519 public key "
                "(64 hex digits)"
            )
        if key not in keys:
            keys.append(key)
    return keys


def sign(data: bytes) -> tuple[str, str]:
    """(public key hex, signature hex) of ``data`` with the signing key."""
    key = signing_key()
    return public_hex(key), key.sign(data).hex()


def signature_valid(public_key: str, signature: str, data: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), data
        )
    except (InvalidSignature, ValueError):
        return False
    return True
