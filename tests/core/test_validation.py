"""The argument validators (text, numbers, times, streams, rows, names,
URLs) and the ``validated`` decorator: each class of bad input is a domain
error naming the argument. The services' own checks are in
test_service_validation.py."""

import io
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from disclosure.accounts.models import Organization, User
from disclosure.core.errors import InvalidTimestamp, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import (
    check_datetime,
    check_instance,
    check_int,
    check_stream,
    check_text,
    check_url,
    clean_name,
    clean_text,
    validated,
)

# --- text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("a\x00b", "NUL character"),
        ("\x00", "NUL character"),
        ("\ud800", "lone UTF-16 surrogate"),
        ("ok \udfff", "lone UTF-16 surrogate"),
        (b"bytes", "must be text"),
        (42, "must be text"),
        (["a"], "must be text"),
    ],
)
def test_check_text_refuses(value, match):
    with pytest.raises(ValidationFailed, match=match) as exc:
        check_text(value, field="note")
    assert exc.value.field == "note"


def test_text_longer_than_the_setting_is_refused(settings):
    settings.DISCLOSURE_MAX_TEXT_CHARS = 10
    assert check_text("x" * 10, field="note") == "x" * 10
    with pytest.raises(ValidationFailed, match="longer than 10 characters") as exc:
        check_text("x" * 11, field="note")
    assert exc.value.field == "note"


def test_the_default_text_limit_is_a_million_characters(settings):
    assert settings.DISCLOSURE_MAX_TEXT_CHARS == 1_000_000
    with pytest.raises(ValidationFailed, match="longer than 1000000 characters"):
        check_text("x" * 1_000_001, field="body")


def test_clean_text_strips_and_applies_the_same_rules():
    assert clean_text("  é Ω  ", field="note") == "é Ω"
    assert clean_text(None, field="note") == ""
    with pytest.raises(ValidationFailed, match="NUL") as exc:
        clean_text(" a\x00 ", field="reason", name="why")
    assert exc.value.field == "why"


# --- numbers, times, streams, rows ---------------------------------------------


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (2**63, "between"),
        (-(2**63) - 1, "between"),
        (True, "whole number"),
        (1.0, "whole number"),
        ("1", "whole number"),
    ],
)
def test_check_int_refuses(value, match):
    with pytest.raises(ValidationFailed, match=match) as exc:
        check_int(value, field="seq")
    assert exc.value.field == "seq"


def test_check_int_takes_the_64_bit_range():
    assert check_int(2**63 - 1, field="seq") == 2**63 - 1
    assert check_int(-(2**63), field="seq") == -(2**63)


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("2024-01-01T00:00:00Z", "must be a date and time"),
        (date(2024, 1, 1), "must be a date and time"),
        (datetime(2024, 1, 1), "time zone"),
        (datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC), "between the years 1970 and 9999"),
        (datetime(1, 1, 1, tzinfo=UTC), "between the years 1970 and 9999"),
        # 9999-12-31 23:00 at UTC-12 is year 10000 in UTC.
        (datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-12))), "between the years"),
        # 0001-01-01 00:30 at UTC+14 cannot even be converted to UTC.
        (datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=14))), "between the years"),
    ],
)
def test_check_datetime_refuses(value, match):
    with pytest.raises(InvalidTimestamp, match=match) as exc:
        check_datetime(value, field="occurred_at")
    assert exc.value.field == "occurred_at"


def test_check_datetime_takes_the_edges():
    first = datetime(1970, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    assert check_datetime(first, field="at") == first
    assert check_datetime(last, field="at") == last


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (io.StringIO("text"), "binary mode"),
        (b"raw bytes", "readable file"),
        (None, "readable file"),
    ],
)
def test_check_stream_refuses(value, match):
    with pytest.raises(ValidationFailed, match=match) as exc:
        check_stream(value, field="file")
    assert exc.value.field == "file"


def test_check_stream_refuses_a_closed_file():
    stream = io.BytesIO(b"x")
    stream.close()
    with pytest.raises(ValidationFailed, match="cannot be read"):
        check_stream(stream, field="file")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: User(username="unsaved"), "never saved"),
        (lambda: User(pk=987654321, username="gone"), "does not exist"),
        (lambda: Organization(name="Acme", kind="vendor"), "must be a user"),
        (lambda: "user1", "must be a user"),
    ],
)
def test_check_instance_refuses(make, match):
    with pytest.raises(ValidationFailed, match=match) as exc:
        check_instance(make(), User, field="actor")
    assert exc.value.field == "actor"


# --- the decorator ---------------------------------------------------------------


@validated
def _service(*, name: str, count: int, at: datetime, flag: bool = False, tags=()) -> str:
    return "ran"


def test_validated_refuses_unknown_missing_and_positional_arguments():
    good = {"name": "n", "count": 1, "at": now()}
    assert _service(**good) == "ran"
    with pytest.raises(ValidationFailed, match="Unknown argument 'force'") as exc:
        _service(**good, force=True)
    assert exc.value.field == "force"
    with pytest.raises(ValidationFailed, match="count is required") as exc:
        _service(name="n", at=now())
    assert exc.value.field == "count"
    with pytest.raises(ValidationFailed, match="keyword arguments only"):
        _service("n", 1, now())


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"name": "\x00"}, ValidationFailed, "name"),
        ({"count": 2**63}, ValidationFailed, "count"),
        ({"count": None}, ValidationFailed, "count"),
        ({"at": "2024-01-01"}, InvalidTimestamp, "at"),
        ({"flag": None}, ValidationFailed, "flag"),
        ({"flag": "yes"}, ValidationFailed, "flag"),
    ],
)
def test_validated_checks_each_argument_by_its_hint(changes, error, field):
    with pytest.raises(error) as exc:
        _service(**{"name": "n", "count": 1, "at": now(), **changes})
    assert exc.value.field == field


# --- names and URLs (finding 15.14) -------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Contoso", "Contoso"),
        ("  Contoso   Ltd ", "Contoso Ltd"),
        ("\uff23ontoso", "Contoso"),  # fullwidth C: NFKC
        ("Ma\u0308kinen", "M\u00e4kinen"),  # a combining diaeresis composed
        ("Soci\u00e9t\u00e9 G\u00e9n\u00e9rale", "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale"),
        ("\u05d0\u05d1\u05d2 Ltd", "\u05d0\u05d1\u05d2 Ltd"),  # right-to-left letters are fine
    ],
)
def test_clean_name_normalises(value, expected):
    assert clean_name(value, field="name") == expected


@pytest.mark.parametrize(
    "value",
    [
        "Con\u200btoso",
        "Con\u2060toso",  # word joiner
        "\ufeffContoso",
        "Contoso\u202e",
        "Contoso\u061c",  # Arabic letter mark
        "Contoso\u2067x\u2069",
        "Contoso\tLtd",
        "Contoso\u2029Ltd",
        "Contoso\ue000",  # private use
        "Contoso\U000e0041",  # tag character
    ],
)
def test_clean_name_refuses_invisible_direction_and_control_characters(value):
    with pytest.raises(ValidationFailed, match=r"invisible|control") as exc:
        clean_name(value, field="name", label="organization's name")
    assert exc.value.field == "name"


@pytest.mark.parametrize(
    "value",
    [
        "https://firm.example/a\r\nb",
        "https://firm.example/a\tb",
        "https://firm.example/a b",
        "https://firm.example/\u200b",
        "https://firm.example/\u202e",
        "https://firm.example/\x7f",
        "https://firm.example/\u3000",  # ideographic space
    ],
)
def test_check_url_refuses_spaces_controls_and_invisible_characters(value):
    with pytest.raises(ValidationFailed, match=r"space|invisible|control") as exc:
        check_url(value, field="url", label="advisory's URL")
    assert exc.value.field == "url"


def test_check_url_accepts_http_and_https_addresses_only():
    assert check_url("https://firm.example/a?b=1#c", field="url") == "https://firm.example/a?b=1#c"
    assert check_url("http://firm.example", field="url") == "http://firm.example"
    assert check_url("https://b\u00fccher.example/\u00e9", field="url") == (
        "https://b\u00fccher.example/\u00e9"
    )
    for bad in ["ftp://firm.example/", "https://", "firm.example/a", "javascript:alert(1)"]:
        with pytest.raises(ValidationFailed, match="http"):
            check_url(bad, field="url")
