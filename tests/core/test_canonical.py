from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from disclosure.core.canonical import canonical_json
from disclosure.core.timeutils import iso_utc, parse_iso_utc


def test_sorted_keys_compact_utf8():
    assert canonical_json({"b": 1, "a": {"d": [1, 2], "c": "é"}}) == (
        '{"a":{"c":"é","d":[1,2]},"b":1}'.encode()
    )


def test_timestamps_become_utc_with_microseconds():
    berlin = timezone(timedelta(hours=2))
    value = datetime(2022, 9, 24, 10, 0, 0, 5, tzinfo=berlin)
    assert canonical_json({"t": value}) == b'{"t":"2022-09-24T08:00:00.000005Z"}'
    assert parse_iso_utc(iso_utc(value)) == value


def test_dates_and_decimals():
    assert canonical_json([date(2017, 1, 1), Decimal("2.40")]) == b'["2017-01-01","2.40"]'


def test_naive_datetimes_and_nan_are_refused():
    with pytest.raises(ValueError):
        canonical_json({"t": datetime(2022, 1, 1)})
    with pytest.raises(ValueError):
        canonical_json({"x": float("nan")})
    with pytest.raises(TypeError):
        canonical_json({"x": object()})


def test_same_value_same_bytes():
    a = {"x": [3, 2, 1], "t": datetime(2022, 1, 1, tzinfo=UTC), "z": None}
    b = dict(reversed(list(a.items())))
    assert canonical_json(a) == canonical_json(b)
