"""How people are shown sizes, times, dates and coded choices: one text for
each, the same on the staff pages, the vendor portal, the legal export and
in mail (the template filters of ``core.templatetags.formatting`` and the
export document call these functions).

- Sizes in decimal units (kB, MB, GB, TB, PB: powers of 1000, as disks and
  cloud consoles count them) with the exact count beside:
  ``2.4 TB (2,400,000,000,000 bytes)``.
- Times in the case's time zone with UTC beside:
  ``2022-09-24 10:00 CEST (2022-09-24 08:00 UTC)``; a case kept in UTC
  prints the UTC time once.
- Dates (no time of day) as ISO: ``2017-01-01``.
- Coded choices by their label (``email_content`` -> "E-mail content"); a
  code no longer among the choices is shown as it is.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SIZE_UNITS = ("kB", "MB", "GB", "TB", "PB", "EB")
DASH = "—"


def file_size(value: int | None) -> str:
    """``value`` bytes in decimal units, one decimal, with the exact count:
    '24.5 GB (24,529,338,368 bytes)'; under 1000, '999 bytes' ('1 byte');
    '' for None."""
    if value is None or isinstance(value, bool):
        return ""
    value = int(value)
    if abs(value) < 1000:
        return "1 byte" if value == 1 else f"{value:,} bytes"
    size, unit = float(value), -1
    while abs(size) >= 1000 and unit < len(SIZE_UNITS) - 1:
        size /= 1000
        unit += 1
    if round(abs(size), 1) >= 1000 and unit < len(SIZE_UNITS) - 1:
        size /= 1000  # 999,960 bytes rounds to 1000.0 kB: say 1.0 MB
        unit += 1
    return f"{size:.1f} {SIZE_UNITS[unit]} ({value:,} bytes)"


def zone_or_utc(name: str | None) -> ZoneInfo:
    """The IANA zone ``name``, or UTC for a blank or unknown name."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _is_utc(zone: ZoneInfo) -> bool:
    return zone.key in ("UTC", "Etc/UTC", "Etc/Zulu", "Zulu", "Universal", "Etc/Universal")


def case_time_parts(value: datetime, zone: str | None) -> tuple[str, str | None]:
    """(the time in the case's zone, the same time in UTC or None when the
    zone is UTC): ('2022-09-24 10:00 CEST', '2022-09-24 08:00 UTC')."""
    tz = zone_or_utc(zone)
    utc_text = f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    if _is_utc(tz):
        return utc_text, None
    return f"{value.astimezone(tz):%Y-%m-%d %H:%M %Z}", utc_text


def case_time_text(value: datetime | None, zone: str | None) -> str:
    """'2022-09-24 10:00 CEST (2022-09-24 08:00 UTC)', '2022-09-24 08:00 UTC'
    for a case kept in UTC, or an em dash when unset."""
    if value is None:
        return DASH
    local, utc = case_time_parts(value, zone)
    return f"{local} ({utc})" if utc else local


def iso_date(value: date | None) -> str:
    """A date as '2017-01-01', or an em dash when unset."""
    if value is None:
        return DASH
    if isinstance(value, datetime):
        value = value.date()
    return value.isoformat()


def records_text(records: Mapping[str, Any] | None) -> str:
    """Records by kind, kinds in alphabetical order (a JSON column may store
    them in any order): 'emails: 335,000, users: 584,000'; '' when none."""
    parts = []
    for kind, count in sorted((records or {}).items()):
        is_int = isinstance(count, int) and not isinstance(count, bool)
        parts.append(f"{kind}: {count:,}" if is_int else f"{kind}: {count}")
    return ", ".join(parts)


def choice_label(value: Any, choices: Iterable[tuple[Any, Any]]) -> str:
    """The label of ``value`` among ``choices`` ((value, label) pairs, e.g. a
    TextChoices' ``.choices``), or the value itself when it is not one."""
    if value in (None, ""):
        return ""
    for code, label in choices:
        if code == value:
            return str(label)
    return str(value)


def choice_labels(values: Iterable[Any] | None, choices: Iterable[tuple[Any, Any]]) -> str:
    """The labels of a multiple choice, joined by commas, in the order given:
    'E-mail content, Personal data (PII)'."""
    pairs = list(choices)
    return ", ".join(choice_label(v, pairs) for v in (values or []) if v not in (None, ""))


def categories_text(
    values: Iterable[Any] | None, choices: Iterable[tuple[Any, Any]], other: str = ""
) -> str:
    """The data categories by their labels, as ``choice_labels``, with the
    category ``other`` given as 'Other: <other>' when ``other`` says what it
    is: 'Invoices, Other: Firmware images'. The staff page, the portal and
    the PDF print this one text."""
    pairs = list(choices)
    return ", ".join(
        f"Other: {other}" if v == "other" and other else choice_label(v, pairs)
        for v in (values or [])
        if v not in (None, "")
    )
