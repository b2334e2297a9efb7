#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path

# A development checkout's own settings (``make run`` writes DJANGO_DEBUG=1
# there): read before Django starts; what the environment sets wins. A
# production host has no such file, so production stays the default.
ENV_FILE = Path(__file__).resolve().with_name(".env")


def main() -> None:
    if ENV_FILE.is_file():
        import environ

        environ.Env.read_env(ENV_FILE, overwrite=False)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - reads the settings: a refusal is said plainly
    except ImproperlyConfigured as e:
        # Django would go on without settings and fail later with an
        # unrelated "Models aren't loaded yet" traceback.
        sys.exit(f"manage.py: {e}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
