"""Time helpers: every timestamp the ledger or an export prints is UTC."""

from datetime import UTC, datetime

from django.utils import timezone


def now() -> datetime:
    """The current server time, timezone-aware, in UTC."""
    return timezone.now()


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with microseconds, e.g. ``2022-09-24T08:00:00.000000Z``.

    Raises ValueError for a naive datetime: the ledger never guesses a zone.
    """
    if timezone.is_naive(value):
        raise ValueError("naive datetime: the ledger needs timezone-aware values")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso_utc(text: str) -> datetime:
    """Inverse of iso_utc."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
