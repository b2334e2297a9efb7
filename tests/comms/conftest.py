"""Fixtures of the mail tests: the outbox's clock, moved by hand."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.comms import outbox

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    """The outbox's clock, moved by hand."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch):
    c = Clock(T0)
    monkeypatch.setattr(outbox, "now", c)
    return c
