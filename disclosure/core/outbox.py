"""The outbox engine shared by every channel (mail in comms.outbox,
webhooks in webhooks.delivery): one row per thing to deliver, written in the
transaction of the change it belongs to, delivered after commit.

A channel's model has ``status`` (``QUEUED``, ``SENDING``, ``SENT``,
``FAILED`` below), ``attempts``, ``next_attempt_at`` and ``lease_until``.
This module holds what every channel does alike and knows no channel:

- ``claim``: one conditional UPDATE (queued and due, or sending with a lease
  that has run out -> sending, attempts + 1, a lease), committed before
  anything is handed over. On PostgreSQL a concurrent claim waits for the
  first one's row lock, then re-checks the condition against the committed
  row, which no longer matches; SQLite serialises writes. No
  ``skip_locked`` is needed;
- ``held``: the row as long as this worker's claim holds it. The attempt
  number is the fencing token: a later claim increments it, so a late
  worker's write matches nothing and never overwrites newer state;
- ``retry_delay``: exponential back-off, capped;
- ``due_ids``: what a periodic dispatcher must take up;
- channels: each registers its ``dispatch`` (``register``), and the one
  periodic task (``comms.tasks.dispatch_outbox``) runs ``dispatch_all``.

Times are passed in (``at``) rather than read here, so that each channel's
clock is the one its tests move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import F, Q

logger = logging.getLogger(__name__)

# The status values every channel's model uses (its TextChoices hold the labels).
QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"


def claimable(at: datetime) -> Q:
    """Rows a worker may take at time ``at``: queued and due, or held by a
    worker whose lease ran out."""
    return Q(status=QUEUED, next_attempt_at__lte=at) | Q(status=SENDING, lease_until__lte=at)


def claim(model: type[models.Model], pk: int, *, at: datetime, lease: timedelta) -> Any | None:
    """Take row ``pk`` of ``model`` for this worker at time ``at``: status
    sending, attempts + 1, a lease until ``at + lease``, committed before the
    caller hands anything over. The row as claimed, or None when it is not to
    be delivered now (sent, failed, not due, or held by another worker)."""
    with transaction.atomic():
        taken = model._default_manager.filter(claimable(at), pk=pk).update(
            status=SENDING, attempts=F("attempts") + 1, lease_until=at + lease
        )
        if not taken:
            return None
        return model._default_manager.get(pk=pk)


def held(row: models.Model) -> models.QuerySet:
    """``row`` for as long as this worker's claim holds it (status sending
    and the attempt number it claimed): update through this, and an update
    that matches nothing means another worker has the row now."""
    return type(row)._default_manager.filter(pk=row.pk, status=SENDING, attempts=row.attempts)


def was_ours(row: models.Model) -> bool:
    """Whether no other claim was made on ``row`` after this worker's."""
    return type(row)._default_manager.filter(pk=row.pk, attempts=row.attempts).exists()


def retry_delay(attempts: int, *, base_seconds: float, cap: timedelta) -> timedelta:
    """The wait after failed attempt number ``attempts`` (1, 2, ...):
    ``base_seconds`` * 2^(attempts-1), at most ``cap``."""
    exponent = min(max(attempts - 1, 0), 32)  # 2**32 base seconds is past any cap
    return min(timedelta(seconds=base_seconds * 2**exponent), cap)


def due_ids(model: type[models.Model], *, at: datetime, limit: int = 500) -> list[int]:
    """Rows of ``model`` waiting for delivery at ``at``: queued and due, or
    held by a worker whose lease ran out; the longest waiting first."""
    return list(
        model._default_manager.filter(claimable(at))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


# --- channels ----------------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    """One kind of outbox row: its name and the function that delivers every
    due row of it (``limit`` at most) and returns counts by outcome."""

    name: str
    dispatch: Callable[[int], dict[str, int]]


_channels: dict[str, Channel] = {}


def register(channel: Channel) -> None:
    """Make ``dispatch_all`` deliver ``channel`` too (once per name)."""
    _channels[channel.name] = channel


def channels() -> list[Channel]:
    """The registered channels, in registration order."""
    return list(_channels.values())


def dispatch_all(limit: int = 500) -> dict[str, dict[str, int]]:
    """Deliver the due rows of every channel; counts by outcome per channel.
    A channel whose dispatch raises is logged and reported as ``{"error": 1}``:
    it never keeps the others from being delivered."""
    result: dict[str, dict[str, int]] = {}
    for channel in channels():
        try:
            result[channel.name] = channel.dispatch(limit)
        except Exception:
            logger.exception("outbox: dispatching the %s channel raised", channel.name)
            result[channel.name] = {"error": 1}
    return result
