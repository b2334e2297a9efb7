"""Template helpers of the portal: times in the case's zone with UTC beside
and sizes, both from ``core.formatting`` (the same text as on the staff
pages and in the legal export)."""

from datetime import datetime

from django import template

from disclosure.core.formatting import file_size
from disclosure.core.templatetags.formatting import case_time_html

register = template.Library()


@register.simple_tag
def portal_time(value: datetime | None, zone: str = "UTC") -> str:
    """'2022-09-24 10:00 CEST (2022-09-24 08:00 UTC)' in a ``<time>``
    element, or '—'."""
    return case_time_html(value, zone)


@register.filter
def bytes_size(value: int | None) -> str:
    """'2.4 TB (2,400,000,000,000 bytes)'; '—' when unknown."""
    return file_size(value) if value is not None else "—"


@register.filter
def short_hash(value: str) -> str:
    return (value or "")[:12]
