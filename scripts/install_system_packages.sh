#!/bin/sh
# Install the Debian/Ubuntu packages Disclosure needs and this machine lacks.
#
#   sh scripts/install_system_packages.sh [--browser] [--mail]
#
# What is missing is decided by scripts/check_system.py --apt-packages (one
# list of libraries for the check and for this script): WeasyPrint's required
# libraries, python3-venv when the interpreter cannot create a virtualenv, and
# with --browser Chromium for the browser tests, with --mail Dovecot's IMAP
# server (dovecot-imapd) for the mail tests. Used by the Makefile (without
# either: those tests are optional locally) and by .ci/run (with both).
#
# Installs with apt-get when it can: as root, or with passwordless `sudo -n`.
# Otherwise, or with DISCLOSURE_APT=0, it prints the one command to run and
# exits with status 1. Without apt-get (not Debian/Ubuntu) it does nothing and
# leaves the explanation to scripts/check_system.py.
#
# Without the interpreter itself (a bare Debian), it installs python3 and
# python3-venv first, then asks check_system.py about the rest.
#
# Environment: PYTHON (interpreter running check_system.py, default python3),
# DISCLOSURE_APT (0: never run apt-get), CHROMIUM (path of the browser).
set -eu

here=$(dirname "$0")
python=${PYTHON:-python3}

if command -v "$python" >/dev/null 2>&1; then
    packages=$("$python" "$here/check_system.py" --apt-packages "$@")
    no_python=""
else
    packages="python3 python3-venv"
    no_python=yes
fi
[ -n "$packages" ] || exit 0

command -v apt-get >/dev/null 2>&1 || exit 0

sudo=""
can=yes
if [ "${DISCLOSURE_APT:-1}" = 0 ]; then
    can=no
elif [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        sudo="sudo -n"
    else
        can=no
    fi
fi

if [ "$can" = no ]; then
    {
        echo "Disclosure needs these Debian packages, which are not installed: $packages"
        echo "Install them with:"
        echo
        echo "    sudo apt-get install -y --no-install-recommends $packages"
        echo
    } >&2
    exit 1
fi

echo "Installing Debian packages: $packages"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # word splitting of the package list is intended
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $packages
if [ -n "$no_python" ] && command -v "$python" >/dev/null 2>&1; then
    exec sh "$0" "$@"  # now the check can say what else is missing
fi
