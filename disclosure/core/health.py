"""``/health/``: whether this web process reaches what it needs, for load
balancers and monitoring.

Each component is ``"ok"`` or ``"unavailable"`` and nothing else: no
versions, no hosts, no error text (exception messages name hosts and
ports), which go to the log instead. One component down answers 503 and
names it in ``failing``. Anonymous and exempt from the HTTPS redirect
(settings ``SECURE_REDIRECT_EXEMPT``): a balancer probes it over plain HTTP.
"""

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

OK = "ok"
UNAVAILABLE = "unavailable"
# Seconds a probe of the broker may take before it counts as down.
BROKER_TIMEOUT = 2
# A name no stored file has (stored files are named by their SHA-256).
PROBE_NAME = "health-probe"


def check_database() -> None:
    """A round trip to the default database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    """A connection to the Celery broker; nothing to reach when tasks run
    eagerly in the web process (no ``CELERY_BROKER_URL``)."""
    if not settings.CELERY_BROKER_URL:
        return
    with current_app.connection_for_write(
        settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)


def check_cache() -> None:
    """A value written to the shared cache reads back."""
    key = f"health:{secrets.token_hex(8)}"
    value = secrets.token_hex(8)
    cache.set(key, value, timeout=10)
    try:
        if cache.get(key) != value:
            raise RuntimeError("the cache did not return what was written")
    finally:
        cache.delete(key)


def check_storage() -> None:
    """The evidence store and the exports' store answer: a local folder is
    (or, on a fresh machine, becomes) a writable directory; any other
    storage (an S3 bucket) answers whether a file exists, which a wrong
    key, a missing bucket or an unreachable server makes raise."""
    for alias in ("evidence", "default"):
        storage = storages[alias]
        if isinstance(storage, FileSystemStorage):
            location = Path(storage.location)
            location.mkdir(parents=True, exist_ok=True)
            if not os.access(location, os.W_OK | os.X_OK):
                raise PermissionError(f"the {alias} storage's folder is not writable")
        else:
            storage.exists(PROBE_NAME)


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "broker": check_broker,
    "cache": check_cache,
    "storage": check_storage,
}


def component_status() -> dict[str, str]:
    """Each component's state, ``OK`` or ``UNAVAILABLE``; why one is
    unavailable is logged, never returned."""
    states = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:  # any failure of a component is that component's being down
            logger.warning("health: %s is unavailable", name, exc_info=True)
            states[name] = UNAVAILABLE
        else:
            states[name] = OK
    return states


@never_cache
@require_safe
def health(request: HttpRequest) -> JsonResponse:
    """200 ``{"status": "ok", "components": {...}}`` when every component
    answers; 503 with ``"status": "unavailable"`` and the ``failing``
    components otherwise."""
    components = component_status()
    failing = [name for name, state in components.items() if state != OK]
    body = {"status": UNAVAILABLE if failing else OK, "components": components}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
