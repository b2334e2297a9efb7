"""What one mail fetch may remember between its messages.

``comms.fetch.fetch_mail`` runs its messages inside ``fetch_run()``; code
that ingests one message asks ``remembered(key, load)`` for what does not
change between the messages of one fetch (the system's mail account, a
vendor's known addresses, who on the staff hears of a case). Outside a
fetch run (a test or a caller ingesting one message) nothing is remembered:
``load`` runs every time, so behaviour is the same, only slower.

What is remembered lives as long as the run (a minute's fetch, or the
minutes a large mailbox takes), never across runs or between processes: a
change made elsewhere meanwhile (a watcher added, a vendor's contact
deactivated) is seen by the next fetch at the latest. Only values read from
committed rows may be remembered: a row created inside a message's
transaction could be rolled back with it (callers say so with ``keep``).
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_run: ContextVar[dict | None] = ContextVar("disclosure_mail_fetch_run", default=None)


@contextmanager
def fetch_run() -> Iterator[None]:
    """Remember values (``remembered``) until the block ends."""
    token = _run.set({})
    try:
        yield
    finally:
        _run.reset(token)


def active() -> bool:
    """Whether a fetch run is remembering values now."""
    return _run.get() is not None


def remembered(
    key: Hashable, load: Callable[[], T], *, keep: Callable[[T], bool] | None = None
) -> T:
    """The value of ``key`` loaded before in this fetch run, else ``load()``
    (remembered for the rest of the run unless ``keep`` says no)."""
    store = _run.get()
    if store is None:
        return load()
    try:
        return store[key]
    except KeyError:
        value = load()
        if keep is None or keep(value):
            store[key] = value
        return value
