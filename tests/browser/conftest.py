"""Headless Chromium through Playwright, for the browser tests (Debian's
browser; no browser download). Skipped without it (tests/conftest.py); CI
requires it."""

import os
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
FAILURE_DIR = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse ORM calls as "async-unsafe"; the test is synchronous.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                headless=True,
                args=CHROMIUM_ARGS,
            )
            yield browser
            browser.close()


@pytest.fixture
def page(browser, live_server, request):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    page = context.new_page()
    failed_before = request.session.testsfailed
    yield page
    if request.session.testsfailed > failed_before:  # keep a picture of the failure
        FAILURE_DIR.mkdir(exist_ok=True)
        page.screenshot(path=FAILURE_DIR / f"{request.node.name}.png", full_page=True)
    context.close()
