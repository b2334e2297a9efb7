"""Production mode under the README's documented variables ("Production"):
``manage.py check --deploy`` says nothing, and the security settings it
stands for are what the README says. Each case runs in a fresh interpreter
(settings are read once per process)."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# 50 characters of 40 different ones (Django's deploy check, security.W009).
GOOD_KEY = "q8Vf2mLx7RtZ0pKc4WnYb6HsJd1GaE9uTvXi3oPl5rSeNkQwMz"

# What the test run itself set, which must not reach the subprocess.
_LEAKS = (
    "DJANGO_DEBUG",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "DJANGO_PROXY_SETS_FORWARDED_PROTO",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_HSTS_SECONDS",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS",
    "DJANGO_HSTS_PRELOAD",
)


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The README's production block (DATABASE_URL aside: a SQLite file, so
    that the check needs no server; the ledger role check is PostgreSQL's
    and has its own tests)."""
    env = {k: v for k, v in os.environ.items() if k not in _LEAKS}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "disclosure.settings",
            "SECRET_KEY": GOOD_KEY,
            "DJANGO_ALLOWED_HOSTS": "disclosure.example",
            "DJANGO_CSRF_TRUSTED_ORIGINS": "https://disclosure.example",
            "DJANGO_PROXY_SETS_FORWARDED_PROTO": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
            "CACHE_URL": "redis://127.0.0.1:6379/2",
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
        }
    )
    env.update(extra)
    return env


def test_check_deploy_is_silent_under_the_documented_production_settings(tmp_path):
    proc = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "System check identified no issues (0 silenced)."
    assert proc.stderr.strip() == ""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_check_deploy_is_silent_on_postgresql_as_the_application_role(tmp_path):
    """The same on PostgreSQL, connected as the README's application role
    (``setup_db_roles``): the ledger's role check (ledger.W001) is silent
    too. The role is the test's own, dropped at the end."""
    from django.db import connection

    from disclosure.ledger import dbroles

    role = f"disclosure_app_deploy_{uuid.uuid4().hex[:10]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} LOGIN")
    try:
        dbroles.grant_app_role(role)
        db = connection.settings_dict
        url = f"postgres://{role}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        proc = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
            cwd=ROOT,
            env=production_env(tmp_path, DATABASE_URL=url),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "System check identified no issues (0 silenced)."


_REPORT = """
import json
import django
from django.conf import settings

django.setup()
print(json.dumps({
    "hsts": [settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS,
             settings.SECURE_HSTS_PRELOAD],
    "ssl_redirect": settings.SECURE_SSL_REDIRECT,
    "redirect_exempt": settings.SECURE_REDIRECT_EXEMPT,
    "proxy_ssl_header": settings.SECURE_PROXY_SSL_HEADER,
    "cookies_secure": [settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE],
    "referrer_policy": settings.SECURE_REFERRER_POLICY,
    "frame_options": settings.X_FRAME_OPTIONS,
}))
"""


def report(tmp_path: Path, **extra: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _REPORT],
        cwd=ROOT,
        env=production_env(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_production_settings_are_the_documented_ones(tmp_path):
    assert report(tmp_path) == {
        "hsts": [31536000, True, True],
        "ssl_redirect": True,
        "redirect_exempt": [r"^health/$"],
        "proxy_ssl_header": ["HTTP_X_FORWARDED_PROTO", "https"],
        "cookies_secure": [True, True],
        "referrer_policy": "same-origin",
        "frame_options": "DENY",
    }


def test_hsts_preload_and_subdomains_are_choices(tmp_path):
    got = report(
        tmp_path,
        DJANGO_HSTS_SECONDS="63072000",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="0",
        DJANGO_HSTS_PRELOAD="0",
    )
    assert got["hsts"] == [63072000, False, False]


def test_a_tls_terminating_host_without_proxy_still_redirects(tmp_path):
    """Without the proxy variable Django sees HTTPS only on its own TLS:
    the redirect stays on, and the forwarded header is not trusted."""
    got = report(tmp_path, DJANGO_PROXY_SETS_FORWARDED_PROTO="0")
    assert got["ssl_redirect"] is True
    assert got["proxy_ssl_header"] is None
