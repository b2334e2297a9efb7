"""The settings the test suite runs with (pyproject.toml's
DJANGO_SETTINGS_MODULE): disclosure.settings in debug mode.

The settings' default is production mode, so the suite turns debug on
explicitly, here, before they are read (pytest-django reads them before any
conftest.py is imported). An explicit DJANGO_DEBUG in the environment wins;
subprocesses that tests start inherit the variable.
"""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")

from disclosure.settings import *  # noqa: F403
