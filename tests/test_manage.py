"""manage.py reads a development checkout's .env (which make writes with
DJANGO_DEBUG=1); the environment wins, and without the file production
stays the default."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 30 + "Q7x#-" + "z" * 20
PRINT_DEBUG = "from django.conf import settings; print('DEBUG', settings.DEBUG)"


def _manage(tmp_path, env_file: str | None, **env: str) -> subprocess.CompletedProcess:
    """Run a copy of manage.py from tmp_path (the project on PYTHONPATH), with
    ``env_file`` as its .env and only ``env`` of the Django settings set."""
    shutil.copy(ROOT / "manage.py", tmp_path / "manage.py")
    if env_file is not None:
        (tmp_path / ".env").write_text(env_file)
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(tmp_path / "manage.py"), "shell", "-c", PRINT_DEBUG],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_env_file_turns_debug_on_for_commands_typed_by_hand(tmp_path):
    proc = _manage(tmp_path, "# written by make\nDJANGO_DEBUG=1\n")
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG True" in proc.stdout


def test_the_environment_wins_over_the_env_file(tmp_path):
    proc = _manage(tmp_path, "DJANGO_DEBUG=1\n", DJANGO_DEBUG="0", SECRET_KEY=GOOD_KEY)
    assert proc.returncode == 0, proc.stderr
    assert "DEBUG False" in proc.stdout


def test_without_the_file_production_is_the_default(tmp_path):
    proc = _manage(tmp_path, None)
    assert proc.returncode != 0
    assert "SECRET_KEY must be set in production mode" in proc.stderr


def test_settings_that_refuse_to_load_are_said_in_one_line(tmp_path):
    """Django went on without its settings and died later on "Models aren't
    loaded yet", with the reason buried above the traceback."""
    proc = _manage(tmp_path, None)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "manage.py: SECRET_KEY must be set in production mode (DJANGO_DEBUG unset or 0); "
        "set DJANGO_DEBUG=1 for development."
    ]
