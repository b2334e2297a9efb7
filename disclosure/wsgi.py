"""WSGI entry point (gunicorn disclosure.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
application = get_wsgi_application()
