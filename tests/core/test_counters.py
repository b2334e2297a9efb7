"""core.counters: budgets in fixed windows, spent from leases of the shared
count; on local memory and on a real Redis, where several processes (here:
Leases objects, threads) share one budget and never exceed it."""

import threading

import pytest
from django.core.cache import cache, caches
from hypothesis import given, settings
from hypothesis import strategies as st

from disclosure.core.counters import MAX_LEASE, Budget, Leases, RedisCache

AT = 1_800_000_030.0  # 30 s into a minute
WINDOW = int(AT // 60)


def count(name: str, seconds: int = 60, window: int = WINDOW) -> int | None:
    """What the cache holds of a budget's count."""
    return cache.get(f"counter:{name}:{seconds}:{window}")


def allowed(verdicts) -> list[bool]:
    return [v.allowed for v in verdicts]


def test_a_small_limit_is_exact_and_whole_again_next_window():
    leases = Leases()
    b = Budget("b", limit=2, seconds=60)
    assert [allowed(leases.spend([b], at=AT + i)) for i in range(3)] == [[True], [True], [False]]
    refused = leases.spend([b], at=AT + 5)[0]
    assert not refused.allowed and refused.resets_in == pytest.approx(25)
    # one unit at a time (2 // 8 is below one); the second made the count the
    # limit, so the refusals were answered without asking
    assert count("b") == 2
    assert allowed(leases.spend([b], at=AT + 30)) == [True]  # the next minute


def test_leases_are_an_eighth_of_what_remains_at_most_sixteen():
    leases = Leases()
    big, mid = Budget("big", 1000, 60), Budget("mid", 100, 60)
    leases.spend([big, mid], at=AT)
    assert (count("big"), count("mid")) == (16, 12)  # 16 (of 125); 100 // 8
    for i in range(11):  # what the leases hold: no asking
        leases.spend([big, mid], at=AT + 0.1 * i)
    assert (count("big"), count("mid")) == (16, 12)
    leases.spend([big, mid], at=AT + 2)  # mid's lease is spent: 88 // 8 more
    assert (count("big"), count("mid")) == (16, 23)
    for _ in range(4):
        leases.spend([big], at=AT + 3)
    assert count("big") == 32  # the 17th request took the next 16


def test_a_process_that_knows_the_budget_is_spent_refuses_without_asking():
    leases = Leases()
    b = Budget("spent", limit=1, seconds=60)
    assert allowed(leases.spend([b], at=AT)) == [True]
    assert allowed(leases.spend([b], at=AT + 1)) == [False]
    assert count("spent") == 1  # the lease made the count the limit: nothing asked
    other = Leases()  # a process that did not know asks, and is refused
    assert allowed(other.spend([b], at=AT + 2)) == [False]
    assert count("spent") == 2
    assert allowed(other.spend([b], at=AT + 3)) == [False]
    assert count("spent") == 2  # now it knows too


def test_two_processes_share_one_budget_of_ten_exactly():
    a, b = Leases(), Leases()
    budget = Budget("shared", limit=10, seconds=60)
    results = [allowed(p.spend([budget], at=AT))[0] for _ in range(8) for p in (a, b)]
    assert results.count(True) == 10 and results[:10] == [True] * 10


@settings(max_examples=150, deadline=None)
@given(
    limit=st.integers(1, 300),
    order=st.lists(st.integers(0, 3), min_size=1, max_size=400),
)
def test_no_interleaving_of_processes_grants_more_than_the_limit(limit, order):
    cache.clear()
    processes = [Leases() for _ in range(4)]
    budget = Budget("p", limit=limit, seconds=60)
    granted = sum(allowed(processes[i].spend([budget], at=AT))[0] for i in order)
    assert granted <= limit
    # every process asking until it is refused: the whole budget, not one less
    for p in processes:
        while allowed(p.spend([budget], at=AT))[0]:
            granted += 1
    assert granted == limit


@pytest.mark.parametrize("seconds", [0, -5, 1.5, "60"])
def test_a_window_is_a_whole_number_of_seconds(seconds):
    with pytest.raises(ValueError, match="whole number of seconds"):
        Leases().spend([Budget("a", 10, seconds)])


def test_an_unreachable_cache_is_none_and_logged(settings, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    leases = Leases()
    assert leases.spend([Budget("a", 10, 60)]) is None
    assert "could not be counted" in caplog.text and len(leases) == 0


def test_leases_of_ended_windows_are_forgotten():
    leases = Leases()
    for i in range(4100):
        leases.spend([Budget(f"n{i}", 10, 60)], at=AT)
    assert len(leases) == 4100
    leases.spend([Budget("later", 10, 60)], at=AT + 120)
    assert len(leases) == 1


@pytest.mark.redis
def test_on_redis_counts_are_shared_created_with_their_lifetime_and_prefixed(redis_cache):
    client, prefix = redis_cache
    assert isinstance(caches["default"], RedisCache)
    leases = Leases()
    leases.spend([Budget("t", 1000, 60), Budget("ip", 1000, 60)], at=AT)
    keys = sorted(k.decode() for k in client.scan_iter(f"{prefix}:*"))
    assert keys == [f"{prefix}:1:counter:ip:60:{WINDOW}", f"{prefix}:1:counter:t:60:{WINDOW}"]
    # another client (another process) sees the lease; it expires after its window
    assert int(client.get(f"{prefix}:1:counter:t:60:{WINDOW}")) == MAX_LEASE
    assert 0 < client.ttl(f"{prefix}:1:counter:t:60:{WINDOW}") <= 31
    # a second process takes its own lease from the same count
    Leases().spend([Budget("t", 1000, 60)], at=AT + 1)
    assert int(client.get(f"{prefix}:1:counter:t:60:{WINDOW}")) == 2 * MAX_LEASE


@pytest.mark.redis
def test_on_redis_four_processes_at_once_spend_exactly_the_budget(redis_cache):
    """Four threads, each with leases of its own (four processes), spend one
    budget of 150 until refused: 150 granted in all, never more."""
    granted: list[int] = []
    budget = Budget("race", limit=150, seconds=60)

    def process():
        leases, mine = Leases(), 0
        while allowed(leases.spend([budget], at=AT))[0]:
            mine += 1
        granted.append(mine)

    threads = [threading.Thread(target=process) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(granted) == 150
