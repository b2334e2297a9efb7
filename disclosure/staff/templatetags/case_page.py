"""Template helpers of the case page: times in the case's time zone with
UTC on hover, durations, short hashes."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils.html import format_html

register = template.Library()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@register.simple_tag
def case_time(value: datetime | None, zone: str = "UTC") -> str:
    """``value`` in the case's time zone, in a ``<time>`` element whose
    ``datetime`` and ``title`` give it in UTC; an em dash when unset."""
    if value is None:
        return "—"
    local = value.astimezone(_zone(zone))
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        utc.strftime("%Y-%m-%d %H:%M:%S"),
        local.strftime("%Y-%m-%d %H:%M %Z"),
    )


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
    """Bytes with their unit and the exact count: '1.5 MB (1,500,000 bytes)'."""
    if value is None:
        return ""
    units = ["bytes", "kB", "MB", "GB", "TB"]
    size, unit = float(value), 0
    while size >= 1000 and unit < len(units) - 1:
        size /= 1000
        unit += 1
    if unit == 0:
        return f"{value:,} bytes"
    return f"{size:.1f} {units[unit]} ({value:,} bytes)"
