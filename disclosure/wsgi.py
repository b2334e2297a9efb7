"""WSGI entry point (gunicorn disclosure.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
application = get_wsgi_application()

from disclosure.core.startup import freeze_startup_heap  # noqa: E402  (needs apps loaded)

freeze_startup_heap()
