"""Canonical JSON: the byte form that the ledger hashes and exports attach.

Sorted keys, compact separators, UTF-8 (no ASCII escaping), timestamps as
ISO-8601 UTC with microseconds. The same value always gives the same bytes.
"""

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from .timeutils import iso_utc


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not canonical-JSON serialisable")


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value``."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    ).encode("utf-8")


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON types (what a JSONField stores and hashes)."""
    return json.loads(canonical_json(value))
