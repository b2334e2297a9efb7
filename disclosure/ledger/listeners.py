"""Who hears of new ledger events: functions called inside the appending
transaction with the events just written (webhooks fan out from here).

The ledger imports no app that listens; a listener registers itself (in its
AppConfig.ready). A listener runs in the case's transaction: what it writes
commits or rolls back with the events, and an exception it raises rolls the
change back, so a listener writes rows and never talks to the network.
"""

from collections.abc import Callable, Sequence
from typing import Any

Listener = Callable[[Sequence[Any]], None]

_listeners: list[Listener] = []


def register(listener: Listener) -> None:
    """Call ``listener(events)`` after every append (once, however often
    this is called with it)."""
    if listener not in _listeners:
        _listeners.append(listener)


def appended(events: Sequence[Any]) -> None:
    """Tell every listener of ``events`` (CaseEvent rows, oldest first), in
    the transaction that wrote them. Every writer of events calls this."""
    if not events:
        return
    for listener in _listeners:
        listener(events)
