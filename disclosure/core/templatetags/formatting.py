"""Template filters over ``core.formatting``, shared by the staff pages, the
vendor portal, the legal export and mail templates (``{% load formatting %}``),
so that a size, a time or a date reads the same everywhere."""

from datetime import UTC, date, datetime
from typing import Any

from django import template
from django.utils.html import format_html

from disclosure.core import formatting

register = template.Library()


@register.filter
def filesize(value: int | None) -> str:
    """'2.4 TB (2,400,000,000,000 bytes)' (``formatting.file_size``)."""
    return formatting.file_size(value)


def case_time_html(value: datetime | None, zone: str | None = "UTC") -> str:
    """``value`` in the case's zone with UTC beside, in a ``<time>`` element
    whose text is ``formatting.case_time_text`` and whose ``datetime`` is
    the UTC instant; an em dash when unset."""
    if value is None:
        return formatting.DASH
    local, utc = formatting.case_time_parts(value, zone)
    instant = value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if utc is None:
        return format_html('<time datetime="{}" class="case-time">{}</time>', instant, local)
    return format_html(
        '<time datetime="{}" class="case-time">{} <span class="utc">({})</span></time>',
        instant,
        local,
        utc,
    )


@register.simple_tag(name="case_time")
def case_time(value: datetime | None, zone: str | None = "UTC") -> str:
    """``{% case_time value case.time_zone %}``: see ``case_time_html``."""
    return case_time_html(value, zone)


@register.filter
def case_time_text(value: datetime | None, zone: str | None = "UTC") -> str:
    """The plain text of ``case_time`` (for mail and the PDF)."""
    return formatting.case_time_text(value, zone)


@register.filter
def iso_date(value: date | None) -> str:
    """A date as '2017-01-01'."""
    return formatting.iso_date(value)


@register.filter
def choice_labels(values: Any, choices: Any) -> str:
    """The labels of a multiple choice: ``{{ codes|choice_labels:choices }}``
    with ``choices`` as (value, label) pairs."""
    return formatting.choice_labels(values, choices or ())


@register.filter
def records(value: Any) -> str:
    """Records by kind: ``{{ case.records_by_kind|records }}`` ->
    'emails: 335,000, users: 584,000' (kinds in alphabetical order)."""
    return formatting.records_text(value if isinstance(value, dict) else None)


@register.filter
def number(value: Any) -> Any:
    """An integer with thousands separators ('65,000'); anything else as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value
