"""Template helpers of the case page: times in the case's time zone with
UTC beside, sizes (both from ``core.formatting``), durations, short hashes."""

from datetime import datetime, timedelta

from django import template
from django.urls import reverse

from disclosure.core.formatting import file_size
from disclosure.core.templatetags.formatting import case_time_html

from ..case_page import TIMELINE_PAGE_SIZE

register = template.Library()


@register.simple_tag
def case_time(value: datetime | None, zone: str = "UTC") -> str:
    """``value`` in the case's time zone with UTC beside, in a ``<time>``
    element (``core.formatting``: the same text on every page); an em dash
    when unset."""
    return case_time_html(value, zone)


@register.filter
def duration(value: timedelta | None) -> str:
    """A duration in days, hours and minutes: '3 d 4 h', '2 h 5 min', '0 min'."""
    if value is None:
        return ""
    minutes = int(value.total_seconds() // 60)
    sign = "-" if minutes < 0 else ""
    days, rest = divmod(abs(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {mins} min" if mins else f"{hours} h"
    else:
        text = f"{mins} min"
    return sign + text


@register.filter
def gap(value: timedelta | None) -> str:
    """The time since the previous stage: '+3 d 4 h', or '2 h earlier' for a
    milestone that occurred before the previous one (recorded late)."""
    if value is None:
        return ""
    if value < timedelta(0):
        return f"{duration(-value)} earlier"
    return f"+{duration(value)}"


@register.filter
def short_hash(value: str) -> str:
    """The first 12 hex digits of a hash."""
    return (value or "")[:12]


@register.filter
def filesize(value: int | None) -> str:
    """Bytes in decimal units with the exact count: '1.5 MB (1,500,000 bytes)'
    (``core.formatting.file_size``, as on the portal and in the export)."""
    return file_size(value)


@register.simple_tag
def event_href(case, seq: int) -> str:
    """The timeline tab's page that shows event ``seq``, with its anchor
    (staff read the whole ledger, newest first, ``TIMELINE_PAGE_SIZE`` a page)."""
    number = max(0, case.ledger_seq - seq) // TIMELINE_PAGE_SIZE + 1
    url = reverse("staff:case_tab", kwargs={"reference": case.reference, "tab": "timeline"})
    return f"{url}?page={number}#event-{seq}"
