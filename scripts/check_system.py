#!/usr/bin/env python3
"""Check the system libraries Disclosure needs before anything else runs.

WeasyPrint (the legal PDF export) is pure Python on top of C libraries that
pip cannot install: Pango, PangoFT2, HarfBuzz (with its subset library),
Fontconfig and GLib. When one is missing, ``import weasyprint`` fails deep
inside cffi with an OSError; this script turns that into a clear message
naming the Debian/Ubuntu packages to install, and exits with status 1.

Usage: python scripts/check_system.py [--browser]

``--browser`` also reports whether Chromium is there for the browser tests.
Its absence is only a note: those tests skip with a reason (CI requires them).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import shutil
import sys

MIN_PYTHON = (3, 11)

# Shared object (as WeasyPrint loads it) -> Debian/Ubuntu package providing it.
WEASYPRINT_LIBRARIES = {
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libpango-1.0.so.0": "libpango-1.0-0",
    "libpangoft2-1.0.so.0": "libpangoft2-1.0-0",
    "libharfbuzz.so.0": "libharfbuzz0b",
    "libharfbuzz-subset.so.0": "libharfbuzz-subset0",
    "libfontconfig.so.1": "libfontconfig1",
}
# What to install: these three pull in HarfBuzz, Fontconfig and GLib.
APT_PACKAGES = ["libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0"]


def _fail(lines: list[str]) -> int:
    bar = "=" * 72
    print(bar, file=sys.stderr)
    for line in lines:
        print(line, file=sys.stderr)
    print(bar, file=sys.stderr)
    return 1


def check_python() -> list[str]:
    if sys.version_info >= MIN_PYTHON:
        return []
    have = ".".join(map(str, sys.version_info[:3]))
    need = ".".join(map(str, MIN_PYTHON))
    return [
        f"Python {need} or newer is needed; this is Python {have} ({sys.executable}).",
        "Run make with a newer interpreter, e.g.  make run PYTHON=python3.11",
        "(and remove .venv first so that it is recreated with it).",
    ]


def missing_libraries() -> list[tuple[str, str]]:
    """The WeasyPrint libraries the dynamic loader cannot open."""
    missing = []
    for soname, package in WEASYPRINT_LIBRARIES.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append((soname, package))
    return missing


def check_weasyprint() -> list[str]:
    if sys.platform.startswith("linux"):
        missing = missing_libraries()
    else:  # macOS / Windows: sonames differ; rely on the import below
        missing = []
    import_error = None
    # WeasyPrint prints its own (long) hint on stdout before raising: hide it.
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            import weasyprint  # noqa: F401
        except ImportError as exc:
            if exc.name == "weasyprint":
                return [
                    "The weasyprint Python package is not installed in this environment.",
                    f"Install the requirements first:  {sys.executable} -m pip install "
                    "-r requirements.txt",
                ]
            import_error = exc
        except OSError as exc:
            import_error = exc
    if not missing and import_error is None:
        return []
    lines = [
        "WeasyPrint (PDF export) cannot load the system libraries it needs.",
        "",
    ]
    for soname, package in missing:
        lines.append(f"  missing: {soname}  (Debian/Ubuntu package {package})")
    if import_error is not None:
        lines.append(f"  import weasyprint: {type(import_error).__name__}: {import_error}")
    packages = sorted({pkg for _, pkg in missing} | set(APT_PACKAGES))
    lines += [
        "",
        "On Debian or Ubuntu, install them with:",
        "",
        f"    sudo apt-get install {' '.join(packages)}",
        "",
        "On other systems see",
        "https://doc.courtbouillon.org/weasyprint/stable/first_steps.html#installation",
    ]
    return lines


def browser_note() -> str:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if shutil.which(chromium):
        return f"Chromium found at {chromium}: the browser tests will run."
    return (
        f"Note: no Chromium at {chromium}; the browser tests will be skipped "
        "(install it with `sudo apt-get install chromium`, or set CHROMIUM=/path)."
    )


def main(argv: list[str]) -> int:
    problems = check_python()
    if problems:
        return _fail(problems)
    problems = check_weasyprint()
    if problems:
        return _fail(problems)
    if "--browser" in argv:
        print(browser_note())
    print("System check passed: Python and WeasyPrint's libraries are in place.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
