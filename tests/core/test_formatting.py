"""core.formatting and its template filters: one text for sizes, times,
dates and coded choices on every page, the export and mail (issue 16, items
4 and 5; expected text written out)."""

from datetime import UTC, date, datetime

import pytest
from django.template import Context, Template

from disclosure.core.formatting import (
    case_time_text,
    categories_text,
    choice_label,
    choice_labels,
    file_size,
    iso_date,
    records_text,
)

AT = datetime(2022, 9, 24, 8, 0, tzinfo=UTC)
CATEGORIES = [("pii", "Personal data (PII)"), ("email_content", "E-mail content")]


@pytest.mark.parametrize(
    "value,text",
    [
        (None, ""),
        (0, "0 bytes"),
        (1, "1 byte"),
        (999, "999 bytes"),
        (1000, "1.0 kB (1,000 bytes)"),
        (1024, "1.0 kB (1,024 bytes)"),
        (999_960, "1.0 MB (999,960 bytes)"),  # not "1000.0 kB"
        (24_529_338_368, "24.5 GB (24,529,338,368 bytes)"),  # decimal: not 22.8 GB
        (2_400_000_000_000, "2.4 TB (2,400,000,000,000 bytes)"),  # not 2.2 TB
        (5 * 10**15, "5.0 PB (5,000,000,000,000,000 bytes)"),
    ],
)
def test_file_size_in_decimal_units_with_the_exact_bytes(value, text):
    assert file_size(value) == text


@pytest.mark.parametrize(
    "zone,text",
    [
        ("Europe/Berlin", "2022-09-24 10:00 CEST (2022-09-24 08:00 UTC)"),
        ("Asia/Tokyo", "2022-09-24 17:00 JST (2022-09-24 08:00 UTC)"),
        ("UTC", "2022-09-24 08:00 UTC"),  # once, for a case kept in UTC
        ("Not/AZone", "2022-09-24 08:00 UTC"),
        ("", "2022-09-24 08:00 UTC"),
    ],
)
def test_case_time_in_the_case_zone_with_utc_beside(zone, text):
    assert case_time_text(AT, zone) == text


def test_nothing_is_a_dash():
    assert case_time_text(None, "UTC") == "—"
    assert iso_date(None) == "—"


def test_dates_are_iso():
    assert iso_date(date(2017, 1, 1)) == "2017-01-01"
    assert iso_date(datetime(2017, 1, 1, 23, 0, tzinfo=UTC)) == "2017-01-01"


def test_choices_by_their_labels_unknown_codes_as_they_are():
    assert choice_label("pii", CATEGORIES) == "Personal data (PII)"
    assert choice_label("retired_code", CATEGORIES) == "retired_code"
    assert choice_label("", CATEGORIES) == ""
    assert choice_labels(["email_content", "pii"], CATEGORIES) == (
        "E-mail content, Personal data (PII)"
    )
    assert choice_labels(None, CATEGORIES) == ""


def test_other_data_categories_name_what_they_are():
    choices = [*CATEGORIES, ("other", "Other (say what)")]
    assert categories_text(["pii", "other"], choices, "Firmware images") == (
        "Personal data (PII), Other: Firmware images"
    )
    assert categories_text(["other"], choices, "") == "Other (say what)"
    assert categories_text(["pii"], choices, "ignored") == "Personal data (PII)"
    assert categories_text(None, choices, "Firmware") == ""


def test_the_template_filters_render_the_same_text():
    html = Template(
        "{% load formatting %}{{ size|filesize }}|{% case_time at zone %}|"
        "{{ at|case_time_text:zone }}|{{ day|iso_date }}|{{ codes|choice_labels:choices }}|"
        "{{ count|number }}"
    ).render(
        Context(
            {
                "size": 2_400_000_000_000,
                "at": AT,
                "zone": "Europe/Berlin",
                "day": date(2017, 1, 1),
                "codes": ["pii"],
                "choices": CATEGORIES,
                "count": 65000,
            }
        )
    )
    assert html == (
        "2.4 TB (2,400,000,000,000 bytes)|"
        '<time datetime="2022-09-24T08:00:00Z" class="case-time">2022-09-24 10:00 CEST '
        '<span class="utc">(2022-09-24 08:00 UTC)</span></time>|'
        "2022-09-24 10:00 CEST (2022-09-24 08:00 UTC)|2017-01-01|Personal data (PII)|65,000"
    )


def test_records_by_kind_in_alphabetical_order_with_separators():
    # The order a JSON column hands back (PostgreSQL's jsonb: shortest key first).
    stored = {"users": 584_000, "emails": 335_000, "projects": 133_000}
    assert records_text(stored) == "emails: 335,000, projects: 133,000, users: 584,000"
    assert records_text({"tickets": "many"}) == "tickets: many"
    assert records_text({}) == records_text(None) == ""
    html = Template("{% load formatting %}{{ r|records }}").render(Context({"r": stored}))
    assert html == "emails: 335,000, projects: 133,000, users: 584,000"
