"""Hostile values for the property tests of the services: texts with NULs
and lone surrogates, integers past every column's range, values of the
wrong type, naive and far-off datetimes, broken streams and files, and
``argument``, what to try for an argument by its name."""

import io
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

from disclosure.cases.details import DETAIL_FIELDS
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from tests.factories import SHA

MAX_TEXT = 300  # DISCLOSURE_MAX_TEXT_CHARS during these tests

TEXTS = st.one_of(
    st.sampled_from(
        ["", "   ", "a\x00b", "\x00", "\ud800", "x\udfffy", "é" * 5, "Ω\u200b", "line\nbreak"]
    ),
    st.text(max_size=20),
    st.integers(MAX_TEXT - 2, MAX_TEXT + 5).map(lambda n: "x" * n),
)
INTS = st.one_of(
    st.sampled_from([0, 1, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, -(2**63) - 1]),
    st.integers(),
)
ODDITIES = st.sampled_from(
    [
        None,
        True,
        False,
        1.5,
        float("nan"),
        b"bytes",
        bytearray(b"x"),
        [],
        {},
        (),
        ["a", 1],
        [None],
        ["\x00"],
        {"a": "b"},
        {1: 2},
        {"k": 2**63},
        object(),
        date(2020, 1, 1),
        "2024-01-01T00:00:00Z",
        "yesterday",
    ]
)
ZONES = st.sampled_from(
    [None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12, minutes=-30))]
)
DATETIMES = st.one_of(
    st.datetimes(timezones=ZONES),  # year 1 to 9999, naive or aware
    st.integers(-40 * 24 * 60, 24 * 60).map(lambda m: now() + timedelta(minutes=m)),
    st.sampled_from([datetime(1969, 12, 31, 23, 59, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)]),
)
STREAMS = st.one_of(
    st.binary(max_size=40).map(io.BytesIO),
    st.text(max_size=10).map(io.StringIO),
    st.sampled_from([None, b"raw bytes", "a path", 42]),
)
FILE = st.builds(
    IncomingFile,
    name=TEXTS | ODDITIES,
    stream=STREAMS,
    kind=st.sampled_from(["exposure_capture", "screenshot", "other", "bogus", "\x00"]) | ODDITIES,
    description=TEXTS | ODDITIES,
    captured_at=st.none() | DATETIMES | ODDITIES,
)
FILES = st.one_of(st.lists(FILE, max_size=2), FILE, ODDITIES)
ITEMS = st.one_of(
    st.lists(
        st.dictionaries(
            st.sampled_from(["path", "key", "bytes", "sha256", "extra"]),
            TEXTS | INTS | ODDITIES | st.just(SHA),
            max_size=4,
        )
        | ODDITIES,
        max_size=3,
    ),
    ODDITIES,
)
TEXT_LISTS = st.one_of(st.lists(TEXTS | ODDITIES, max_size=3), ODDITIES, TEXTS)
RECORDS = st.dictionaries(TEXTS | INTS, INTS | ODDITIES, max_size=3)


def instances(world) -> st.SearchStrategy:
    """Model instances, right and wrong: unsaved, deleted, of another model."""
    return st.sampled_from(world["instances"])


def pool(world) -> st.SearchStrategy:
    return st.one_of(TEXTS, INTS, ODDITIES, DATETIMES, instances(world))


def details(world) -> st.SearchStrategy:
    """Values for the case detail fields (``changes`` and open_case's extras)."""
    return st.dictionaries(
        st.sampled_from([*DETAIL_FIELDS, "bogus", "stage", "reference"]),
        pool(world) | RECORDS | TEXT_LISTS,
        max_size=3,
    )


def argument(world, name: str) -> st.SearchStrategy:
    """What to try for the argument ``name``: anything, plus the hostile
    values that fit its meaning."""
    extra = {
        "changes": details(world) | ODDITIES,
        "items": ITEMS,
        "recipients": TEXT_LISTS,
        "to": TEXT_LISTS,
        "cc": TEXT_LISTS,
        "attach_evidence_ids": st.lists(INTS, max_size=3) | ODDITIES,
        "retained_metadata": TEXT_LISTS,
        "data_categories": TEXT_LISTS,
        "records_by_kind": RECORDS | ODDITIES,
        "exposure_evidence": FILES,
        "attachments": FILES,
        "evidence": FILES,
        "file": FILES,
    }.get(name)
    return pool(world) if extra is None else st.one_of(extra, pool(world))
