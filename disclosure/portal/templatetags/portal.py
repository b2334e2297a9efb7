"""Template helpers of the portal: times in the case's zone with UTC beside."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import template

register = template.Library()


@register.simple_tag
def portal_time(value: datetime | None, zone: str = "UTC") -> str:
    """'2022-09-24 10:00 Europe/Berlin (08:00 UTC)', or '—'."""
    if value is None:
        return "—"
    try:
        tz = ZoneInfo(zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        tz, zone = ZoneInfo("UTC"), "UTC"
    local = value.astimezone(tz)
    text = f"{local:%Y-%m-%d %H:%M} {zone}"
    if zone != "UTC":
        text += f" ({value.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
    return text


@register.filter
def bytes_size(value: int | None) -> str:
    if value is None:
        return "—"
    size = float(value)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return str(value)


@register.filter
def short_hash(value: str) -> str:
    return (value or "")[:12]
