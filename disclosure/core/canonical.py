"""Canonical JSON: the byte form that the ledger hashes and exports attach.

Sorted keys, compact separators, UTF-8 (no ASCII escaping), timestamps as
ISO-8601 UTC with microseconds. The same value always gives the same bytes.
Floats are refused: their text form is not stable across databases
(PostgreSQL's jsonb rewrites 1e16 and -0.0), so amounts are integers or
strings (a Decimal becomes its string).
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


def refuse_floats(value: Any) -> None:
    """Raise ValueError if ``value`` holds a float anywhere (keys included)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise ValueError(
                f"canonical JSON refuses floats ({item!r}): use an integer or a string"
            )
        if isinstance(item, dict):
            for key, sub in item.items():
                if isinstance(key, float):
                    raise ValueError("canonical JSON refuses float keys")
                stack.append(sub)
        elif isinstance(item, (list, tuple, set, frozenset)):
            stack.extend(item)


def canonical_json(value: Any) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value``.

    Raises ValueError for floats, non-finite numbers, naive datetimes and
    years outside 1970-9999; TypeError for values JSON cannot carry.
    """
    refuse_floats(value)
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
