"""A clock moved by hand, for tests that patch a module's ``now``."""

from datetime import datetime, timedelta


class Clock:
    """Returns ``at`` when called; ``advance`` moves it on."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)
