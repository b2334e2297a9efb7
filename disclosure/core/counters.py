"""Budgets of requests in fixed time windows, shared by every process through
the default cache: how many requests a token or an address may make this
minute.

A budget is named, holds ``limit`` units per window (``seconds``, aligned on
the epoch) and is whole again in the next. Its count lives in the cache,
where every process adds to it; a process does not ask the cache on every
request but takes a *lease* of a few units at once and spends them locally:

- an eighth of what it last knew to remain, at most ``MAX_LEASE`` (16) and at
  least one, so that it asks about once in 16 requests while the budget is
  far from spent, and for each unit as it runs out (a small limit is exact);
- a lease is counted in the cache before any of its units is spent, so no
  window ever grants more than ``limit``; what can happen is the other way:
  a client right at the limit may be refused up to what the other processes
  still hold of their last leases (a few requests);
- a process that learnt the budget is spent refuses locally until the window
  ends.

On Redis (Django's RedisCache: production) the leases of one request are
added by one script, atomically and in one round trip whatever the number of
processes; on any other cache (local memory: development and tests) with
``add`` and ``incr``, atomic within one process. With a local-memory cache
each process counts for itself: ``check --deploy`` warns (core.W001).
"""

import logging
import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

MAX_LEASE = 16
_LEASE_SHARE = 8  # a lease is at most an eighth of what remains


@dataclass(frozen=True)
class Budget:
    """``limit`` units per window of ``seconds``, under ``name``."""

    name: str
    limit: int
    seconds: int


@dataclass(frozen=True)
class Verdict:
    """Whether the request may spend a unit of the budget, and the seconds
    until its window ends (a refused request may retry then)."""

    allowed: bool
    resets_in: float


@dataclass
class _Lease:
    ends_at: float  # the end of its window (the key names the window)
    left: int  # units of the lease not yet spent
    known_total: int  # the budget's count in the cache when last asked


class Leases:
    """What one process holds of every budget (thread-safe). The module's
    ``LEASES`` is the process's; tests make others to stand for other
    processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Lease] = {}

    def __len__(self) -> int:
        return len(self._held)

    def clear(self) -> None:
        """Forget every lease (after the cache they were counted in was emptied)."""
        with self._lock:
            self._held.clear()

    def spend(
        self, budgets: Sequence[Budget], *, at: float | None = None, using: str = "default"
    ) -> list[Verdict] | None:
        """Spend one unit of each budget in the window that holds ``at``
        (default now): a verdict per budget, in order. Asks the cache (once,
        for all of them) only for the budgets whose lease is spent. None when
        the cache cannot be reached (the caller decides; logged)."""
        at = time.time() if at is None else at
        verdicts: dict[int, Verdict] = {}
        wanted: list[tuple[int, str, int, float]] = []  # (index, key, lease size, window end)
        with self._lock:
            for i, budget in enumerate(budgets):
                if not isinstance(budget.seconds, int) or budget.seconds < 1:
                    raise ValueError(
                        f"A window lasts a whole number of seconds, not {budget.seconds!r}."
                    )
                window = int(at // budget.seconds)
                ends_at = (window + 1) * budget.seconds
                key = f"counter:{budget.name}:{budget.seconds}:{window}"
                lease = self._held.get(key)
                if lease is not None and lease.left > 0:
                    lease.left -= 1
                    verdicts[i] = Verdict(True, ends_at - at)
                elif lease is not None and lease.known_total >= budget.limit:
                    verdicts[i] = Verdict(False, ends_at - at)  # spent: no need to ask
                else:
                    known = lease.known_total if lease is not None else 0
                    size = max(1, min(MAX_LEASE, (budget.limit - known) // _LEASE_SHARE))
                    wanted.append((i, key, size, ends_at))
            if len(self._held) > 4096:  # leases of ended windows are of no use
                self._held = {k: v for k, v in self._held.items() if v.ends_at > at}
        if wanted:
            # each count outlives its window by a second, never by much
            adds = [(key, size, math.ceil(ends_at - at) + 1) for _, key, size, ends_at in wanted]
            try:
                totals = _add(caches[using], adds)
            except Exception:  # a cache that fails: the caller is told, never crashed
                logger.exception("Budgets %s could not be counted", [b.name for b in budgets])
                return None
            with self._lock:
                for (i, key, size, ends_at), total in zip(wanted, totals, strict=True):
                    # the lease holds units total - size + 1 .. total: those within the limit
                    granted = max(0, min(total, budgets[i].limit) - (total - size))
                    self._held[key] = _Lease(ends_at, max(0, granted - 1), total)
                    verdicts[i] = Verdict(granted > 0, ends_at - at)
        return [verdicts[i] for i in range(len(budgets))]


LEASES = Leases()


def spend(budgets: Sequence[Budget], *, at: float | None = None) -> list[Verdict] | None:
    """``Leases.spend`` with this process's leases."""
    return LEASES.spend(budgets, at=at)


# Each key: INCRBY its lease, and when that created it, its lifetime. A script
# runs atomically on the server, in one round trip for all the keys of a call.
_INCREMENT = """
local totals = {}
for i, key in ipairs(KEYS) do
  local by = tonumber(ARGV[2 * i - 1])
  local total = redis.call('INCRBY', key, by)
  if total == by then redis.call('EXPIRE', key, ARGV[2 * i]) end
  totals[i] = total
end
return totals
"""


def _add(cache, leases: list[tuple[str, int, int]]) -> list[int]:
    """Add each (name, units, lifetime in seconds) to its count in ``cache``:
    the counts after."""
    if isinstance(cache, RedisCache):
        # Django's RedisCache has no atomic increment-with-expiry of several
        # keys: its redis-py client (``_cache``) runs the script, on the keys
        # as the cache makes them (prefix, version).
        client = cache._cache.get_client(write=True)
        keys = [cache.make_and_validate_key(name) for name, _, _ in leases]
        args = [value for _, units, life in leases for value in (units, life)]
        return [int(v) for v in client.eval(_INCREMENT, len(keys), *keys, *args)]
    totals = []
    for name, units, lifetime in leases:
        cache.add(name, 0, lifetime)
        try:
            totals.append(cache.incr(name, units))
        except ValueError:  # it expired between the two: the new window's first
            cache.add(name, 0, lifetime)
            totals.append(cache.incr(name, units))
    return totals
