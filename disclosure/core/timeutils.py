"""Time helpers: every timestamp the ledger or an export prints is UTC."""

from datetime import UTC, datetime

from django.utils import timezone

# The ledger's time range: four-digit years, none before the Unix epoch.
MIN_YEAR, MAX_YEAR = 1970, 9999


def now() -> datetime:
    """The current server time, timezone-aware, in UTC."""
    return timezone.now()


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with microseconds, e.g. ``2022-09-24T08:00:00.000000Z``.

    Raises ValueError for a naive datetime (the ledger never guesses a zone)
    and for a year outside 1970-9999 (so that the text always reads back).
    """
    if timezone.is_naive(value):
        raise ValueError("naive datetime: the ledger needs timezone-aware values")
    value = value.astimezone(UTC)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"year {value.year} is outside {MIN_YEAR}-{MAX_YEAR}")
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of iso_utc."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
