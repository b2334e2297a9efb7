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


def _refuse(text: str) -> None:
    raise ValueError(f"canonical JSON refuses floats ({text}): use an integer or a string")


_FLOAT_CHECK = json.JSONDecoder(parse_float=_refuse)


def canonical_json(value: Any, *, check_floats: bool = True) -> bytes:
    """Return the canonical UTF-8 JSON bytes of ``value``.

    Raises ValueError for floats, non-finite numbers, naive datetimes and
    years outside 1970-9999; TypeError for values JSON cannot carry. A caller
    that parsed ``value`` with ``loads_refusing_floats`` may skip the float
    check (``check_floats=False``): it was made then.
    """
    text = json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_default,
    )
    # The C scanner calls parse_float only for a number with a fraction or
    # an exponent: a float anywhere in ``value`` (Decimals are strings by now).
    if check_floats:
        _FLOAT_CHECK.decode(text)
    return text.encode("utf-8")


def loads_refusing_floats(text: str) -> Any:
    """Parse JSON text; ValueError when it holds a float."""
    return _FLOAT_CHECK.decode(text)


def to_json_value(value: Any) -> Any:
    """``value`` as plain JSON types (what a JSONField stores and hashes)."""
    return json.loads(canonical_json(value))
