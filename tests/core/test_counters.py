"""core.counters: fixed-window counters in the default cache, on local memory
and on a real Redis, where they are atomic across clients and expire."""

import threading

import pytest
from django.core.cache import caches

from disclosure.core import counters


def test_counts_per_name_and_window_on_local_memory():
    at = 120.25  # in the third minute since the epoch
    assert [c.value for c in counters.hit([("a", 60), ("b", 60)], at=at)] == [1, 1]
    assert [c.value for c in counters.hit([("a", 60)], at=at + 10)] == [2]
    again = counters.hit([("a", 60), ("b", 60)], at=at + 20)
    assert [c.value for c in again] == [3, 2]
    assert again[0].resets_in == pytest.approx(180 - 140.25)
    # the next minute starts again at one; another window length is another counter
    assert [c.value for c in counters.hit([("a", 60), ("a", 3600)], at=180.0)] == [1, 1]
    assert counters.hit([("a", 60)], at=180.5)[0].resets_in == pytest.approx(59.5)


@pytest.mark.parametrize("seconds", [0, -5, 1.5, "60"])
def test_a_window_is_a_whole_number_of_seconds(seconds):
    with pytest.raises(ValueError, match="whole number of seconds"):
        counters.hit([("a", seconds)])


def test_an_unreachable_cache_is_none_and_logged(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    assert counters.hit([("a", 60)]) is None
    assert "could not be counted" in caplog.text


@pytest.mark.redis
def test_on_redis_counters_are_shared_created_with_their_lifetime_and_prefixed(redis_cache):
    client, prefix = redis_cache
    assert isinstance(caches["default"], counters.RedisCache)
    at = 1_800_000_030.0  # 30 s into a minute
    assert [c.value for c in counters.hit([("t", 60), ("ip", 60)], at=at)] == [1, 1]
    assert [c.value for c in counters.hit([("t", 60)], at=at + 1)] == [2]
    keys = sorted(k.decode() for k in client.scan_iter(f"{prefix}:*"))
    window = int(at // 60)
    assert keys == [f"{prefix}:1:counter:ip:60:{window}", f"{prefix}:1:counter:t:60:{window}"]
    # another client (another process) reads the same count; it expires after its window
    assert int(client.get(f"{prefix}:1:counter:t:60:{window}")) == 2
    assert 0 < client.ttl(f"{prefix}:1:counter:t:60:{window}") <= 31


@pytest.mark.redis
def test_on_redis_concurrent_hits_are_each_counted_once(redis_cache):
    """Four clients hitting one counter at once: every value from 1 to 200
    is handed out exactly once (no lost update)."""
    seen: list[int] = []
    lock = threading.Lock()
    at = 1_800_000_000.0

    def worker():
        mine = [counters.hit([("shared", 60)], at=at)[0].value for _ in range(50)]
        with lock:
            seen.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 201))
