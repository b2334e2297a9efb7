"""What the Content-Security-Policy would block, found in the source: no
template served to a browser has an inline script, a ``<style>`` block, a
``style`` attribute, an ``on*=`` handler, a ``javascript:`` URL or
``hx-on`` (which htmx runs through eval, off by htmx-config). The PDF
export's templates (templates/exports/, rendered by WeasyPrint, never
served) are the exception; no served template includes them. The API docs
page's inline script and style carry the request's nonce."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PDF_ONLY = ROOT / "templates" / "exports"
NONCED = {ROOT / "templates" / "api" / "swagger_ui.html"}
NONCE = 'nonce="{{ request.csp_nonce }}"'


def served_templates() -> list[Path]:
    found = [
        *(ROOT / "templates").rglob("*.html"),
        *(ROOT / "disclosure").glob("*/templates/**/*.html"),
    ]
    return sorted(p for p in found if PDF_ONLY not in p.parents)


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
PROBLEMS = {
    "a <style> block": re.compile(r"<style\b", re.I),
    "a style attribute": re.compile(r"\sstyle\s*=", re.I),
    "an on* handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "a javascript: URL": re.compile(r"javascript:", re.I),
    "hx-on": re.compile(r"\bhx-on\b|\bhx-on:|\bdata-hx-on", re.I),
}


def test_the_scan_finds_templates():
    paths = {p.relative_to(ROOT).as_posix() for p in served_templates()}
    assert {"templates/staff/base.html", "templates/portal/base.html"} <= paths
    assert not any(p.startswith("templates/exports/") for p in paths)


@pytest.mark.parametrize("path", served_templates(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_inline_code_in_served_templates(path):
    text = path.read_text()
    found = [what for what, pattern in PROBLEMS.items() if pattern.search(text)]
    scripts = INLINE_SCRIPT.findall(text)
    if path in NONCED:
        assert all(NONCE in tag for tag in scripts) and scripts
        assert all(NONCE in tag for tag in re.findall(r"<style\b[^>]*>", text))
        found.remove("a <style> block")
    else:
        assert scripts == [], f"inline script in {path}"
    assert found == [], f"{path}: {found}"


def test_served_templates_do_not_reuse_the_pdf_templates():
    uses_pdf = re.compile(r"""{%\s*(extends|include)\s+["']exports/""")
    assert [p for p in served_templates() if uses_pdf.search(p.read_text())] == []


def test_htmx_is_told_not_to_inject_styles_nor_eval():
    config = (
        """<meta name="htmx-config" """
        """content='{"includeIndicatorStyles": false, "allowEval": false}'>"""
    )
    for base in ("staff", "portal"):
        text = (ROOT / "templates" / base / "base.html").read_text()
        assert config in text
        assert text.index(config) < text.index("htmx.min.js")


@pytest.mark.django_db
def test_the_csrf_failure_page_has_nothing_inline(analyst):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    response = client.post("/tokens/", {"name": "x"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "Form expired" in html and "(CSRF: " in html
    assert "<style" not in html and "style=" not in html
