"""scripts/install_system_packages.sh: apt-get as root or with passwordless sudo,
otherwise the one command to run. Run against stub commands on PATH."""

import os
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "install_system_packages.sh"


def stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A fake machine: stub python (prints the missing packages), id, apt-get, sudo."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.log"
    calls.touch()

    def run(*, missing: str, uid: int, sudo: str | None, args=(), env=None):
        stub(bin_dir, "fake-python", f'echo "$*" >> {calls}.python\necho "{missing}"')
        stub(bin_dir, "id", f'[ "$1" = -u ] && echo {uid}')
        stub(bin_dir, "apt-get", f'echo "apt-get $*" >> {calls}')
        if sudo == "passwordless":
            stub(bin_dir, "sudo", f'[ "$1" = -n ] && shift; echo "sudo" >> {calls}.sudo; exec "$@"')
        elif sudo == "password":
            stub(bin_dir, "sudo", "echo 'sudo: a password is required' >&2; exit 1")
        else:  # shadows any real sudo on this machine: as if not installed
            stub(bin_dir, "sudo", "echo 'sudo: not found' >&2; exit 127")
        environment = {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "PYTHON": str(bin_dir / "fake-python"),
            **(env or {}),
        }
        result = subprocess.run(
            ["sh", str(SCRIPT), *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=30,
        )
        return result, calls.read_text().splitlines()

    return run


def test_nothing_missing_runs_no_apt_get(machine):
    result, calls = machine(missing="", uid=0, sudo=None)
    assert result.returncode == 0, result.stderr
    assert calls == []


def test_root_installs_with_apt_get(machine):
    result, calls = machine(missing="libpango-1.0-0 libpangoft2-1.0-0", uid=0, sudo=None)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0",
    ]


def test_passwordless_sudo_installs_through_sudo(machine, tmp_path):
    result, calls = machine(missing="libpango-1.0-0", uid=1000, sudo="passwordless")
    assert result.returncode == 0, result.stderr
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends libpango-1.0-0",
    ]
    # once to test `sudo -n true`, then once per apt-get call
    assert (tmp_path / "calls.log.sudo").read_text().splitlines() == ["sudo"] * 3


@pytest.mark.parametrize("sudo", ["password", None])
def test_without_root_or_passwordless_sudo_it_names_the_command(machine, sudo):
    result, calls = machine(missing="libpango-1.0-0 libpangoft2-1.0-0", uid=1000, sudo=sudo)
    assert result.returncode == 1
    assert calls == []
    assert (
        "sudo apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0"
        in result.stderr
    )


def test_disclosure_apt_0_never_runs_apt_get(machine):
    result, calls = machine(missing="chromium", uid=0, sudo=None, env={"DISCLOSURE_APT": "0"})
    assert result.returncode == 1
    assert calls == []
    assert "sudo apt-get install -y --no-install-recommends chromium" in result.stderr


def test_browser_flag_is_passed_to_the_check(machine, tmp_path):
    machine(missing="", uid=0, sudo=None, args=["--browser"])
    python_args = (tmp_path / "calls.log.python").read_text().split()
    assert python_args[-2:] == ["--apt-packages", "--browser"]
    assert os.path.basename(python_args[0]) == "check_system.py"


def test_browser_and_mail_flags_are_passed_to_the_check(machine, tmp_path):
    """.ci/run asks for Chromium and Dovecot's IMAP server (dovecot-imapd)."""
    result, calls = machine(missing="dovecot-imapd", uid=0, sudo=None, args=["--browser", "--mail"])
    assert result.returncode == 0, result.stderr
    python_args = (tmp_path / "calls.log.python").read_text().split()
    assert python_args[-3:] == ["--apt-packages", "--browser", "--mail"]
    assert calls == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends dovecot-imapd",
    ]


def test_ci_installs_the_browser_and_the_mail_server():
    ci = (SCRIPT.parents[1] / ".ci" / "run").read_text()
    assert "sh scripts/install_system_packages.sh --browser --mail" in ci
    assert "DISCLOSURE_REQUIRE=postgres,browser,redis,mail" in ci


@pytest.mark.parametrize("target", ["run", "test", "check"])
def test_make_targets_install_the_packages_first(target):
    """``make run``, ``make test`` and ``make check`` call the script before anything else."""
    root = SCRIPT.parents[1]
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert "scripts/install_system_packages.sh" in lines[0]


def test_without_python_it_installs_python_then_asks_the_check(machine, tmp_path):
    """A bare Debian: no interpreter yet. apt-get (stubbed) 'installs' it."""
    bin_dir = tmp_path / "bin"
    result, _ = machine(missing="libpango-1.0-0", uid=0, sudo=None)  # writes the stubs
    (tmp_path / "calls.log").write_text("")
    python = bin_dir / "fake-python"
    python.rename(bin_dir / "python-to-be")
    stub(
        bin_dir,
        "apt-get",
        f'echo "apt-get $*" >> {tmp_path}/calls.log\n'
        f"[ -e {bin_dir}/python-to-be ] && mv {bin_dir}/python-to-be {python}; true",
    )
    result = subprocess.run(
        ["sh", str(SCRIPT)],
        capture_output=True,
        text=True,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHON": str(python)},
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "calls.log").read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends python3 python3-venv",
        "apt-get update -qq",
        "apt-get install -y -qq --no-install-recommends libpango-1.0-0",
    ]
