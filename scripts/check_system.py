#!/usr/bin/env python3
"""Check the system libraries Disclosure needs before anything else runs.

WeasyPrint (the legal PDF export) is pure Python on top of C libraries that
pip cannot install. WeasyPrint 70 refuses to load without GLib (GObject),
Pango, PangoFT2, HarfBuzz and Fontconfig: when one is missing,
``import weasyprint`` fails deep inside cffi with an OSError. This script
turns that into a clear message naming the Debian/Ubuntu packages to install,
and exits with status 1. HarfBuzz's subset library is optional for
WeasyPrint 70 but not for Disclosure: without it WeasyPrint subsets fonts
with fontTools, which stamps each subset with the time of the render, so the
same case no longer renders to the same bytes (the legal export's promise).
It is required, like the export's fonts.

Usage:
    python scripts/check_system.py [--browser]
        Check; ``--browser`` also reports whether Chromium is there for the
        browser tests (only a note: those tests skip with a reason; CI
        requires them).
    python scripts/check_system.py --apt-packages [--browser] [--mail]
        Print, on one line, the Debian packages that would provide what is
        missing (required libraries, ``python3-venv`` when this interpreter
        cannot create a virtualenv, ``openssl`` for the tests' time-stamping
        authority and TLS certificates, with ``--browser`` Chromium, and with
        ``--mail`` Dovecot's IMAP server for the mail tests, which start
        their own throw-away instance: tests/dovecot.py); print
        nothing when nothing is missing. scripts/install_system_packages.sh
        installs them. Runs on any Python 3 and never imports WeasyPrint.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import io
import os
import shutil
import sys

MIN_PYTHON = (3, 11)

# The libraries WeasyPrint 70 cannot load without (weasyprint/text/ffi.py opens
# them without allow_fail): shared object -> Debian/Ubuntu package providing it.
WEASYPRINT_LIBRARIES = {
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libpango-1.0.so.0": "libpango-1.0-0",
    "libpangoft2-1.0.so.0": "libpangoft2-1.0-0",
    "libharfbuzz.so.0": "libharfbuzz0b",
    "libfontconfig.so.1": "libfontconfig1",
}
# Opened by WeasyPrint 70 with allow_fail, but required by the legal export:
# without HarfBuzz's subsetter, fontTools writes the render's time into every
# embedded font, and an export is no longer reproducible byte for byte.
EXPORT_LIBRARIES = {
    "libharfbuzz-subset.so.0": "libharfbuzz-subset0",
}
# What to install when a required library is missing: these two depend on
# HarfBuzz, Fontconfig and GLib, whose package names vary between releases.
APT_PACKAGES = ["libpango-1.0-0", "libpangoft2-1.0-0"]
VENV_PACKAGE = "python3-venv"
# The fonts of the legal export (disclosure/exports/assets.py reads them from
# this folder only and embeds them; nothing is fetched).
EXPORT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
EXPORT_FONTS = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf",
                "DejaVuSansMono-Bold.ttf")  # fmt: skip
EXPORT_FONT_PACKAGE = "fonts-dejavu-core"
BROWSER_PACKAGE = "chromium"
# The mail tests' IMAP server (tests/dovecot.py runs its own `dovecot -F -c`).
MAIL_PACKAGE = "dovecot-imapd"
# The tests' RFC 3161 time-stamping authority is OpenSSL's `ts -reply` (tests/tsa.py).
OPENSSL_PACKAGE = "openssl"


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


def missing_libraries(libraries: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """The libraries (default: WeasyPrint's required ones) the loader cannot open."""
    missing = []
    for soname, package in (WEASYPRINT_LIBRARIES if libraries is None else libraries).items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            missing.append((soname, package))
    return missing


def missing_fonts() -> list[str]:
    """The export's font files that are not installed (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    return [f for f in EXPORT_FONTS if not os.path.isfile(os.path.join(EXPORT_FONT_DIR, f))]


def check_fonts() -> list[str]:
    missing = missing_fonts()
    if not missing:
        return []
    return [
        "The legal export's fonts are missing: " + ", ".join(missing) + f" in {EXPORT_FONT_DIR}.",
        f"On Debian or Ubuntu:  sudo apt-get install {EXPORT_FONT_PACKAGE}",
    ]


def missing_export_libraries() -> list[tuple[str, str]]:
    """The export's libraries the loader cannot open (Linux only)."""
    if not sys.platform.startswith("linux"):
        return []
    return missing_libraries(EXPORT_LIBRARIES)


def check_export_libraries() -> list[str]:
    missing = missing_export_libraries()
    if not missing:
        return []
    packages = " ".join(package for _, package in missing)
    return [
        "The legal export needs HarfBuzz's subset library: "
        + ", ".join(soname for soname, _ in missing)
        + " is not installed.",
        "Without it WeasyPrint subsets fonts with fontTools, which writes the time of",
        "each render into the PDF: the same case would not export to the same bytes.",
        f"On Debian or Ubuntu:  sudo apt-get install {packages}",
    ]


def chromium_path() -> str:
    return os.environ.get("CHROMIUM", "/usr/bin/chromium")


def dovecot_path() -> str | None:
    """Dovecot's executable: Debian puts it in /usr/sbin, not on every PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    return "/usr/sbin/dovecot" if os.access("/usr/sbin/dovecot", os.X_OK) else None


def apt_packages(browser: bool = False, mail: bool = False) -> list[str]:
    """Debian packages providing what is missing on this Linux machine (else [])."""
    if not sys.platform.startswith("linux"):
        return []
    packages: list[str] = []
    if importlib.util.find_spec("ensurepip") is None:  # Debian splits venv out
        packages.append(VENV_PACKAGE)
    if missing_libraries():
        packages += APT_PACKAGES
    if missing_fonts():
        packages.append(EXPORT_FONT_PACKAGE)
    packages += [package for _, package in missing_export_libraries()]
    if browser and not shutil.which(chromium_path()):
        packages.append(BROWSER_PACKAGE)
    if mail and dovecot_path() is None:
        packages.append(MAIL_PACKAGE)
    if not shutil.which("openssl"):
        packages.append(OPENSSL_PACKAGE)
    return packages


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
        "(`make run` and `make test` do this themselves when run as root or with",
        "passwordless sudo: scripts/install_system_packages.sh.) On other systems see",
        "https://doc.courtbouillon.org/weasyprint/stable/first_steps.html#installation",
    ]
    return lines


def browser_note() -> str:
    chromium = chromium_path()
    if shutil.which(chromium):
        return f"Chromium found at {chromium}: the browser tests will run."
    return (
        f"Note: no Chromium at {chromium}; the browser tests will be skipped "
        "(install it with `sudo apt-get install chromium`, or set CHROMIUM=/path)."
    )


def main(argv: list[str]) -> int:
    if "--apt-packages" in argv:
        print(" ".join(apt_packages(browser="--browser" in argv, mail="--mail" in argv)))
        return 0
    problems = check_python()
    if problems:
        return _fail(problems)
    problems = check_weasyprint() or check_fonts() or check_export_libraries()
    if problems:
        return _fail(problems)
    if "--browser" in argv:
        print(browser_note())
    print(
        "System check passed: Python, WeasyPrint's libraries and the export's fonts are in place."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
