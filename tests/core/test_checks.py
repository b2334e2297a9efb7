"""The deploy check that every process shares one cache (core.W001)."""

import pytest
from django.core import checks

from disclosure.core.checks import check_shared_cache


@pytest.mark.parametrize(
    ("backend", "warned"),
    [
        ("django.core.cache.backends.locmem.LocMemCache", True),
        ("django.core.cache.backends.dummy.DummyCache", True),
        ("django.core.cache.backends.redis.RedisCache", False),
        ("django.core.cache.backends.memcached.PyMemcacheCache", False),
    ],
)
def test_a_cache_private_to_each_process_is_warned_of(settings, backend, warned):
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": "127.0.0.1:6379"}}
    found = check_shared_cache()
    assert [w.id for w in found] == (["core.W001"] if warned else [])
    if warned:
        assert "throttles count per process" in found[0].msg
        assert "CACHE_URL" in found[0].hint


def test_it_runs_with_check_deploy_and_is_silent_otherwise():
    deploy = checks.run_checks(include_deployment_checks=True, tags=["caches"])
    assert "core.W001" in [m.id for m in deploy]  # the suite's cache is local memory
    assert "core.W001" not in [m.id for m in checks.run_checks(tags=["caches"])]
