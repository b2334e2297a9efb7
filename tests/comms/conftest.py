"""Fixtures of the mail tests: the outbox's clock, moved by hand."""

from datetime import UTC, datetime

import pytest

from disclosure.comms import outbox
from tests.clock import Clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    c = Clock(T0)
    monkeypatch.setattr(outbox, "now", c)
    return c
