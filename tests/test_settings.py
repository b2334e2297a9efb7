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
    "DJANGO_PROXY_SETS_FORWARDED_PROTO",
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
    "proxy_ssl_header": getattr(settings, "SECURE_PROXY_SSL_HEADER", None),
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


# 50 characters of 40 different ones: what Django's deploy check accepts.
GOOD_KEY = "q8Vf2mLx7RtZ0pKc4WnYb6HsJd1GaE9uTvXi3oPl5rSeNkQwMz"
DEV_KEY = "dev-only-insecure-secret-key-do-not-use-in-production"


def test_production_mode_refuses_to_start_without_secret_key():
    proc = run_settings(DJANGO_DEBUG="0")
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert "SECRET_KEY" in proc.stderr


def test_unset_debug_is_production_mode():
    """Without DJANGO_DEBUG nothing runs in debug mode with the public
    development key: the defaults are production's, which want a key."""
    proc = run_settings()
    assert proc.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set" in proc.stderr
    values = report(SECRET_KEY=GOOD_KEY)
    assert values["debug"] is False
    assert values["session_cookie_secure"] is True


@pytest.mark.parametrize(
    ("weak", "why"),
    [
        ("short-key", "at least 50 characters"),
        ("x7#" * 16 + "Q", "at least 50 characters"),  # 49 characters
        ("a" * 32, "at least 50 characters"),
        ("a" * 64, "at least 5 different characters"),
        ("abab" * 20, "at least 5 different characters"),
        (DEV_KEY, "the public development key"),
    ],
)
def test_production_mode_refuses_a_weak_secret_key(weak, why):
    proc = run_settings(DJANGO_DEBUG="0", SECRET_KEY=weak)
    assert proc.returncode != 0
    assert "ImproperlyConfigured" in proc.stderr
    assert why in proc.stderr
    assert weak not in proc.stderr  # the key itself is never printed


def test_unset_debug_refuses_the_development_key_too():
    proc = run_settings(SECRET_KEY=DEV_KEY)
    assert proc.returncode != 0
    assert "the public development key" in proc.stderr


def test_production_mode_starts_with_a_real_secret_key():
    values = report(DJANGO_DEBUG="0", SECRET_KEY="k" * 25 + "Z7#" * 8 + "q")
    assert values["debug"] is False
    assert values["allowed_hosts"] == []
    assert values["session_cookie_secure"] is True
    assert report(DJANGO_DEBUG="0", SECRET_KEY=GOOD_KEY)["debug"] is False


def test_the_proxy_ssl_header_is_trusted_only_when_a_setting_says_so():
    """X-Forwarded-Proto can be sent by any client: it decides whether a
    request counts as HTTPS only behind a proxy that overwrites it."""
    assert report(DJANGO_DEBUG="0", SECRET_KEY=GOOD_KEY)["proxy_ssl_header"] is None
    values = report(DJANGO_DEBUG="0", SECRET_KEY=GOOD_KEY, DJANGO_PROXY_SETS_FORWARDED_PROTO="1")
    assert values["proxy_ssl_header"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert report(DJANGO_DEBUG="1")["proxy_ssl_header"] is None


def test_debug_mode_is_turned_on_explicitly_and_runs_on_sqlite_with_eager_celery():
    values = report(DJANGO_DEBUG="1")
    assert values["debug"] is True
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["broker"] == ""
    assert values["eager"] is True


def test_database_url_and_broker_url_switch_to_postgres_and_a_real_broker():
    values = report(
        DJANGO_DEBUG="1",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/disclosure",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["broker"] == "redis://127.0.0.1:6379/0"
    assert values["eager"] is False


def test_the_cache_is_local_memory_unless_cache_url_names_a_shared_one():
    assert report(DJANGO_DEBUG="1")["cache"][0] == "django.core.cache.backends.locmem.LocMemCache"
    locmem = report(DJANGO_DEBUG="1", CACHE_URL="")["cache"][0]
    assert locmem == "django.core.cache.backends.locmem.LocMemCache"
    assert report(DJANGO_DEBUG="1", CACHE_URL="redis://127.0.0.1:6379/2")["cache"] == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/2",
    ]


_LOGS = """
import logging
import django

django.setup()
logging.getLogger("django.request").warning("Not Found: /nowhere")
logging.getLogger("django.request").error("Internal Server Error: /boom")
logging.getLogger("weasyprint.progress").info("Step 2 - Fetching and parsing CSS - CSS string")
logging.getLogger("weasyprint").warning("Ignored `foo: bar` at 1:1, unknown property.")
logging.getLogger("disclosure.anything").info("an application line")
server = logging.getLogger("django.server")
server.info('"GET /healthz HTTP/1.1" 200 38', extra={"server_time": "03/Dec/2026 06:04:51"})
"""


@pytest.mark.parametrize("debug", ["1", "0"])
def test_each_log_line_is_printed_once_and_weasyprint_progress_not_at_all(debug):
    """A request's warning went to Django's own console handler and again to
    the root's (printed twice by the development server); WeasyPrint's
    progress lines ("Step 2 - ...") filled every export command's output and
    the worker's log."""
    env = {"DJANGO_DEBUG": debug}
    if debug == "0":
        env["SECRET_KEY"] = GOOD_KEY
    clean = {k: v for k, v in os.environ.items() if k not in _SETTINGS_ENV}
    clean.update(env, DJANGO_SETTINGS_MODULE="disclosure.settings")
    proc = subprocess.run(
        [sys.executable, "-c", _LOGS],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines.count("Not Found: /nowhere") == 1
    assert lines.count("Internal Server Error: /boom") == 1
    assert lines.count("Ignored `foo: bar` at 1:1, unknown property.") == 1
    assert lines.count("an application line") == 1
    assert lines.count('[03/Dec/2026 06:04:51] "GET /healthz HTTP/1.1" 200 38') == 1
    assert len([line for line in lines if "GET /healthz" in line]) == 1
    assert not [line for line in lines if "Step 2" in line]
