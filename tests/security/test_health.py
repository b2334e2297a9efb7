"""/health/: the database, the broker, the cache and the storage, each "ok"
or "unavailable"; 503 naming what is down; never a version, a host, a port
or an error message; reachable over plain HTTP in production (a load
balancer's probe) while everything else is redirected to HTTPS."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import OperationalError

from tests.security.test_deploy_check import production_env

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
ALL_UP = {
    "status": "ok",
    "components": {"database": "ok", "broker": "ok", "cache": "ok", "storage": "ok"},
}
# Nothing of the configuration: hosts, ports, URLs, versions, engine names.
LEAKS = re.compile(r"127\.0\.0\.1|localhost|:\d+|\d+\.\d+|redis|postgres|sqlite|/var/|/tmp/", re.I)


def test_all_up_is_200_json(client):
    response = client.get("/health/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert response.json() == ALL_UP
    assert not LEAKS.search(response.content.decode())


@pytest.mark.redis
def test_all_up_with_the_real_broker_and_a_redis_cache(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": settings.CELERY_BROKER_URL,
        }
    }
    response = client.get("/health/")
    assert (response.status_code, response.json()) == (200, ALL_UP)


def test_the_broker_down_is_503_naming_it(client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "components": {
            "database": "ok", "broker": "unavailable", "cache": "ok", "storage": "ok",
        },
        "failing": ["broker"],
    }  # fmt: skip
    assert not LEAKS.search(response.content.decode())


def test_the_database_down_is_503_naming_it_without_its_message(client, monkeypatch):
    from django.db import connection

    def refused(*args, **kwargs):
        raise OperationalError(
            'connection to server at "db.internal" (10.0.0.7), port 5432 failed: '
            "password authentication failed for user disclosure_app"
        )

    monkeypatch.setattr(connection, "cursor", refused)
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]
    assert response.json()["components"]["database"] == "unavailable"
    body = response.content.decode()
    assert "db.internal" not in body and "disclosure_app" not in body
    assert not LEAKS.search(body)


def test_a_storage_folder_that_cannot_be_a_folder_is_503(client, settings, tmp_path):
    from django.core.files.storage import storages

    blocked = tmp_path / "not-a-folder"
    blocked.write_bytes(b"")
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": blocked / "evidence", "base_url": None},
        },
    }
    storages._storages.pop("evidence", None)
    try:
        response = client.get("/health/")
    finally:
        storages._storages.pop("evidence", None)
    assert response.status_code == 503
    assert response.json()["failing"] == ["storage"]
    assert str(tmp_path) not in response.content.decode()


def test_only_get_and_head(client):
    assert client.post("/health/").status_code == 405
    assert client.head("/health/").status_code == 200


_PROBE = """
import json
import django
from django.test import Client

django.setup()
client = Client()
health = client.get("/health/")
login = client.get("/login/")
print(json.dumps({
    "health": [health.status_code, health.json(), health.content.decode()],
    "login": [login.status_code, login.get("Location")],
}))
"""


def test_in_production_everything_down_is_named_and_health_is_not_redirected(tmp_path):
    """A real production process whose database, broker and cache do not
    answer (nothing listens on port 1): /health/ answers over plain HTTP
    with 503 naming the three; a page is redirected to HTTPS."""
    env = production_env(
        tmp_path,
        DJANGO_ALLOWED_HOSTS="testserver",
        DATABASE_URL="postgres://disclosure_app:s3cret-pw@127.0.0.1:1/disclosure",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        CACHE_URL="redis://127.0.0.1:1/2",
        PRIVATE_STORAGE_ROOT=str(tmp_path / "private"),
    )
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    status, body, raw = got["health"]
    assert status == 503
    assert body == {
        "status": "unavailable",
        "components": {
            "database": "unavailable", "broker": "unavailable", "cache": "unavailable",
            "storage": "ok",
        },
        "failing": ["database", "broker", "cache"],
    }  # fmt: skip
    assert "s3cret" not in raw and not LEAKS.search(raw)
    assert got["login"] == [301, "https://testserver/login/"]
    # Why each is down is in the log, for the operator.
    assert "health: database is unavailable" in proc.stderr
    assert os.path.isdir(tmp_path / "private" / "evidence")
