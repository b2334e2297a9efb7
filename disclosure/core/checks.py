"""Deploy checks (``manage.py check --deploy``) of what every process must share."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Caches whose entries one process cannot see from another.
_PER_PROCESS = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


@register("core", Tags.caches, deploy=True)
def check_shared_cache(app_configs=None, **kwargs):
    """Warn when the default cache is private to each process: API throttles
    would count per process (each worker grants the whole budget) and the
    dashboard figures the Celery worker warms would never reach the web."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in _PER_PROCESS:
        return []
    return [
        Warning(
            f"The default cache ({backend.rsplit('.', 1)[-1]}) is private to each process: "
            "API throttles count per process and the dashboard figures warmed by the Celery "
            "worker do not reach the web processes.",
            hint="Set CACHE_URL to a shared cache, e.g. redis://127.0.0.1:6379/2 (README).",
            id="core.W001",
        )
    ]
