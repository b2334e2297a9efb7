"""Counters in fixed time windows, shared by every process through the
default cache: how many requests a token or an address made this minute.

A counter is named, lasts one window (``seconds``, aligned on the epoch) and
starts again at one in the next. On Redis (Django's RedisCache: production)
every counter of a call is created with its lifetime and incremented in one
MULTI/EXEC round trip, atomically whatever the number of processes; on any
other cache (local memory: development and tests) with ``add`` and ``incr``,
atomic within one process. With a local-memory cache each process counts for
itself: ``check --deploy`` warns (core.W001).
"""

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Count:
    """A counter after a hit: its value (this hit included) and the seconds
    until its window ends."""

    value: int
    resets_in: float


def hit(
    counters: Sequence[tuple[str, int]], *, at: float | None = None, using: str = "default"
) -> list[Count] | None:
    """Add one to each ``(name, window seconds)`` counter, in the window that
    holds ``at`` (default now), and return the counters in the same order.
    None when the cache cannot be reached (the caller decides; logged)."""
    at = time.time() if at is None else at
    cache = caches[using]
    names, lifetimes, resets = [], [], []
    for name, seconds in counters:
        if not isinstance(seconds, int) or seconds < 1:
            raise ValueError(f"A window lasts a whole number of seconds, not {seconds!r}.")
        window = int(at // seconds)
        resets_in = (window + 1) * seconds - at
        names.append(f"counter:{name}:{seconds}:{window}")
        lifetimes.append(math.ceil(resets_in) + 1)  # outlives its window, never by much
        resets.append(resets_in)
    try:
        if isinstance(cache, RedisCache):
            values = _hit_redis(cache, names, lifetimes)
        else:
            values = [_hit_cache(cache, n, life) for n, life in zip(names, lifetimes, strict=True)]
    except Exception:  # a cache that fails: the caller is told, never crashed
        logger.exception("Counters %s could not be counted", [name for name, _ in counters])
        return None
    return [Count(value, r) for value, r in zip(values, resets, strict=True)]


def _hit_redis(cache: RedisCache, names: list[str], lifetimes: list[int]) -> list[int]:
    client = cache._cache.get_client(write=True)
    with client.pipeline(transaction=True) as pipe:
        for name, lifetime in zip(names, lifetimes, strict=True):
            key = cache.make_and_validate_key(name)  # the cache's prefix and version
            pipe.set(key, 0, ex=lifetime, nx=True)  # created with its lifetime, once
            pipe.incr(key)
        results = pipe.execute()
    return [int(v) for v in results[1::2]]


def _hit_cache(cache, name: str, lifetime: int) -> int:
    if cache.add(name, 1, lifetime):
        return 1
    try:
        return cache.incr(name)
    except ValueError:  # it expired between the two: this is the new window's first
        cache.add(name, 0, lifetime)
        return cache.incr(name)
