"""disclosure/settings.py read from the environment, in fresh interpreters
(settings are read once per process, so each case runs in a subprocess)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Variables that would leak the test run's configuration into the subprocess.
_SETTINGS_ENV = (
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DB_CONN_MAX_AGE",
    "CACHE_URL",
)

_REPORT = """
import json
import django
from django.conf import settings

django.setup()
print(json.dumps({
    "debug": settings.DEBUG,
    "engine": settings.DATABASES["default"]["ENGINE"],
    "broker": settings.CELERY_BROKER_URL,
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "allowed_hosts": settings.ALLOWED_HOSTS,
    "session_cookie_secure": getattr(settings, "SESSION_COOKIE_SECURE", False),
    "cache": [settings.CACHES["default"]["BACKEND"], settings.CACHES["default"].get("LOCATION")],
}))
"""


def run_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_ENV}
    clean["DJANGO_SETTINGS_MODULE"] = "disclosure.settings"
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", _REPORT],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def report(**env: str) -> dict:
    proc = run_settings(**env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_production_mode_refuses_to_start_without_secret_key():
    proc = run_settings(DJANGO_DEBUG="0")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "SECRET_KEY" in proc.stderr


@pytest.mark.parametrize(
    "weak", ["short-key", "dev-only-insecure-secret-key-do-not-use-in-production"]
)
def test_production_mode_refuses_a_weak_secret_key(weak):
    proc = run_settings(DJANGO_DEBUG="0", SECRET_KEY=weak)
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_production_mode_starts_with_a_real_secret_key():
    values = report(DJANGO_DEBUG="0", SECRET_KEY="k" * 25 + "Z7#" * 8 + "q")
    assert values["debug"] is False
    assert values["allowed_hosts"] == []
    assert values["session_cookie_secure"] is True


def test_defaults_run_on_sqlite_with_eager_celery():
    values = report()
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["broker"] == ""
    assert values["eager"] is True


def test_database_url_and_broker_url_switch_to_postgres_and_a_real_broker():
    values = report(
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/disclosure",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://127.0.0.1:6379/0"
    assert values["eager"] is False


def test_the_cache_is_local_memory_unless_cache_url_names_a_shared_one():
    assert report()["cache"][0] == "django.core.cache.backends.locmem.LocMemCache"
    assert report(CACHE_URL="")["cache"][0] == "django.core.cache.backends.locmem.LocMemCache"
    assert report(CACHE_URL="redis://127.0.0.1:6379/2")["cache"] == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/2",
    ]
