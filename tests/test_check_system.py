"""scripts/check_system.py names what is missing instead of failing deep inside."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "check_system.py"


@pytest.fixture
def check_system():
    spec = importlib.util.spec_from_file_location("check_system", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_passes_on_this_machine(check_system, capsys):
    assert check_system.main([]) == 0
    assert "System check passed" in capsys.readouterr().out


def test_missing_library_is_named_with_its_package(check_system, capsys, monkeypatch):
    monkeypatch.setitem(
        check_system.WEASYPRINT_LIBRARIES, "libdisclosure-missing.so.0", "libdisclosure-missing0"
    )
    assert check_system.main([]) == 1
    err = capsys.readouterr().err
    assert "missing: libdisclosure-missing.so.0" in err
    assert "sudo apt-get install" in err and "libdisclosure-missing0" in err
    assert "libpango-1.0-0" in err
