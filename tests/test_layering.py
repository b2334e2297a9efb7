"""Imports flow one way (DESIGN.md, Layout): core imports no app, and no
domain app imports the demo, read from the source with ``ast``."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "disclosure"
DOMAIN_APPS = [
    "core", "accounts", "cases", "ledger", "comms", "evidence", "affected", "tokens", "intake",
    "exports",
]  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    """Absolute names of the modules a file imports (relative imports resolved)."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def imports_of(app: str) -> dict[str, set[str]]:
    return {
        str(path.relative_to(PACKAGE.parent)): imported_modules(path)
        for path in sorted((PACKAGE / app).rglob("*.py"))
    }


def test_the_helper_resolves_relative_imports():
    assert "disclosure.cases.models.Case" in imported_modules(PACKAGE / "cases" / "access.py")
    assert "disclosure.accounts.selectors" in imported_modules(
        PACKAGE / "accounts" / "admin_site.py"
    )


def test_core_imports_no_app():
    offending = {
        (path, name)
        for path, names in imports_of("core").items()
        for name in names
        if name.startswith("disclosure.") and not name.startswith("disclosure.core")
    }
    assert offending == set()


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_domain_apps_do_not_import_the_demo(app):
    offending = {
        (path, name)
        for path, names in imports_of(app).items()
        for name in names
        if name == "disclosure.demo" or name.startswith("disclosure.demo.")
    }
    assert offending == set()


def test_the_demo_is_its_own_app():
    from django.conf import settings

    assert "disclosure.demo" in settings.INSTALLED_APPS
    assert not list((PACKAGE / "cases").glob("demo*.py"))
    assert (PACKAGE / "demo" / "management" / "commands" / "seed_demo.py").exists()


INTERFACES = ["staff", "portal", "api"]


@pytest.mark.parametrize("app", INTERFACES)
def test_interfaces_do_not_import_each_other(app):
    others = [f"disclosure.{other}" for other in INTERFACES if other != app]
    offending = {
        (path, name)
        for path, names in imports_of(app).items()
        for name in names
        if any(name == o or name.startswith(o + ".") for o in others)
    }
    assert offending == set()


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_domain_apps_import_no_interface(app):
    interfaces = [f"disclosure.{i}" for i in INTERFACES]
    offending = {
        (path, name)
        for path, names in imports_of(app).items()
        for name in names
        if any(name == i or name.startswith(i + ".") for i in interfaces)
    }
    assert offending == set()
