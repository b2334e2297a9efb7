"""core.startup: the WSGI entry point imports what serving reaches and
freezes the start-up heap before the first request."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, sys
assert gc.get_freeze_count() == 0
import disclosure.wsgi
frozen = gc.get_freeze_count()
# the views a first request would import are there already, and frozen
print(frozen > 50_000, "disclosure.api.views.records" in sys.modules,
      "disclosure.portal.views.cases" in sys.modules, gc.isenabled())
from disclosure.core.startup import freeze_startup_heap
print(freeze_startup_heap() >= frozen)
"""


def test_the_wsgi_application_freezes_what_it_imported_to_serve():
    result = subprocess.run(
        [sys.executable, "-c", _PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "disclosure.settings",
            "DJANGO_DEBUG": "1",
        },
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True", "True"]
