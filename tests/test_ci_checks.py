"""scripts/ci_checks.py: the role URLs .ci/run connects with."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "ci_checks.py"


@pytest.fixture
def ci_checks():
    spec = importlib.util.spec_from_file_location("ci_checks", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_role_url_keeps_host_and_port_and_replaces_user_and_database(ci_checks):
    url = ci_checks._role_url(
        "postgres://postgres@db.example:5433/disclosure", "disclosure_app", "p@ss:w/rd", "ci"
    )
    assert url == "postgres://disclosure_app:p%40ss%3Aw%2Frd@db.example:5433/ci"


def test_role_url_defaults_host_and_port(ci_checks):
    url = ci_checks._role_url("postgresql:///disclosure", "owner", "x", "disclosure_ci")
    assert url == "postgresql://owner:x@127.0.0.1:5432/disclosure_ci"
