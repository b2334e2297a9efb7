"""The keyed hash of e-mail addresses (HMAC-SHA-256), where SQL computes it."""

import hashlib

from django.db import connection

from .models import AffectedRecord
from .parsing import email_hash


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """The inner and outer pads of HMAC-SHA-256 with ``key`` (RFC 2104):
    HMAC(k, m) = sha256(opad || sha256(ipad || m))."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hash_sql(expression: str) -> str:
    """SQL (PostgreSQL) of the keyed hash, in hex, of the text ``expression``,
    with the pads as the parameters ``%(ipad)s`` and ``%(opad)s``."""
    return (
        "encode(sha256(%(opad)s::bytea || sha256(%(ipad)s::bytea || "
        f"convert_to({expression}, 'UTF8'))), 'hex')"
    )


def hash_missing(case_id: int, key: bytes) -> int:
    """Give every record of the case that holds an address but no hash the
    keyed hash of its address (the lower case of ``email`` is the normalised
    address: see AffectedRecord); the number of records hashed."""
    table = AffectedRecord._meta.db_table
    if connection.vendor == "postgresql":
        ipad, opad = hmac_pads(key)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET email_hash = {hash_sql('lower(email)')} "
                "WHERE case_id = %(case)s AND email <> '' AND email_hash = ''",
                {"ipad": ipad, "opad": opad, "case": case_id},
            )
            return cursor.rowcount
    missing = AffectedRecord.objects.filter(case_id=case_id, email_hash="").exclude(email="")
    rows = [AffectedRecord(pk=pk, email_hash=email_hash(key, email.lower()))
            for pk, email in missing.values_list("pk", "email")]  # fmt: skip
    AffectedRecord.objects.bulk_update(rows, ["email_hash"], batch_size=2000)
    return len(rows)
