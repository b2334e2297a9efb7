"""Template helpers of the dashboard and the case list."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def local_time(value: datetime | None, zone: str = "UTC") -> str:
    """``value`` in the time zone ``zone`` (the case's), in a ``<time>``
    element whose ``datetime`` and ``title`` give it in UTC; a dash when unset."""
    if value is None:
        return "—"
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    utc = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{} UTC">{}</time>',
        utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        utc.strftime("%Y-%m-%d %H:%M"),
        value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
    )


@register.filter
def relative(delta: timedelta | None) -> str:
    """A signed span in words: 'in 3 d 4 h' ahead, '2 d 1 h ago' behind."""
    if delta is None:
        return ""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {mins} min" if mins else f"{hours} h"
    else:
        text = f"{mins} min"
    return f"in {text}" if delta.total_seconds() >= 0 else f"{text} ago"


@register.simple_tag
def until(due: datetime, at: datetime) -> timedelta:
    """``due - at``."""
    return due - at
