"""Layout at real window widths (issue 16, item 10): on the seeded demo, the
staff dashboard, the case list, the BlueBleed case page and the vendor
portal's page of it are screenshotted at 1366 and 800 px wide into
test-results/screenshots/ (CI artifacts), and each page fails when anything
is wider than the window (outside a sideways-scrolling box) or a column
header is clipped. Also: the case page's tabs are links that htmx turns
into panel swaps, and the same sizes read the same on staff and portal."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import call_command

from disclosure.cases.models import Case
from disclosure.demo.seed import DEMO_PASSWORD

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results" / "screenshots"
WIDTHS = (1366, 800)

# What overflows the window: the page itself, any element that reaches past
# the window's right edge unless a box that scrolls (or clips) sideways holds
# it, and any table header whose text is cut (narrower than its content, or
# cut by the right edge of the box that holds its table).
LAYOUT_PROBLEMS = """() => {
  const width = document.documentElement.clientWidth;
  const problems = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push(`page ${document.documentElement.scrollWidth}px wide in ${window.innerWidth}px`);
  }
  const scroller = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const x = getComputedStyle(a).overflowX;
      if (x === 'auto' || x === 'scroll' || x === 'hidden' || x === 'clip') return a;
    }
    return null;
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '');
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (r.right > width + 1 && !scroller(el)) {
      problems.push(`${name(el)} reaches ${Math.round(r.right)}px`);
    }
  }
  for (const th of document.querySelectorAll('th')) {
    const r = th.getBoundingClientRect();
    if (r.width === 0) continue;
    if (th.scrollWidth > th.clientWidth + 1) {
      problems.push(`header "${th.innerText.trim()}" clipped`);
    }
    const box = scroller(th);
    if (box && r.right > box.getBoundingClientRect().right + 1) {
      problems.push(`header "${th.innerText.trim()}" cut off by its box`);
    }
  }
  return problems;
}"""


@pytest.fixture
def demo(settings, live_server):
    settings.DEBUG = True  # the demo's development ledger key
    call_command("seed_demo", stdout=io.StringIO())
    return Case.objects.get(reference="DSC-2022-0001")  # BlueBleed


def sign_in(page, url: str, username: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def check(page, name: str, width: int) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
    assert page.evaluate(LAYOUT_PROBLEMS) == [], f"{name} at {width} px"


@pytest.mark.parametrize("width", WIDTHS)
def test_pages_fit_the_window(browser, live_server, demo, width):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": width, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, "/login/", "demo-lead")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        check(page, "staff-dashboard", width)
        page.goto("/cases/")
        expect(page.get_by_role("heading", name="Cases", exact=True)).to_be_visible()
        apply = page.get_by_role("button", name="Apply")
        box = apply.bounding_box()
        assert box["height"] < 60 and box["width"] < 200  # a button, not a slab
        check(page, "staff-case-list", width)
        page.goto(demo.get_absolute_url())
        expect(page.locator("#timeline")).to_be_visible()
        check(page, "staff-case-page", width)
        context.clear_cookies()
        sign_in(page, "/portal/login/", "demo-contoso-alex")
        page.goto(f"/portal/cases/{demo.reference}/")
        expect(page.locator("#attestation")).to_be_visible()
        check(page, "portal-case-page", width)
    finally:
        context.close()


def test_tabs_swap_the_panel_and_work_without_javascript(browser, live_server, demo):
    for javascript in (True, False):
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 1366, "height": 900},
            java_script_enabled=javascript,
        )
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            sign_in(page, "/login/", "demo-lead")
            page.goto(demo.get_absolute_url())
            tabs = page.get_by_role("navigation", name="Case sections")
            if javascript:
                page.evaluate("window.beforeTabClick = true")
            tabs.get_by_role("link", name=re.compile("^Communications")).click()
            expect(page).to_have_url(re.compile(rf"/cases/{demo.reference}/communications/$"))
            if javascript:  # htmx swapped the panel: the page was not reloaded
                assert page.evaluate("window.beforeTabClick === true")
            expect(page.locator("#communications")).to_be_visible()
            expect(page.locator("#timeline")).to_have_count(0)
            expect(tabs.locator('[aria-current="page"]')).to_have_attribute(
                "data-tab", "communications"
            )
            # Message bodies are readable in place.
            expect(page.locator("#communications pre.message-body").first).to_be_visible()
            tabs.get_by_role("link", name=re.compile("^Deletion attestation")).click()
            expect(page).to_have_url(re.compile(rf"/cases/{demo.reference}/attestation/$"))
            total = page.locator("#attestation dt:text-is('Total') + dd").inner_text()
        finally:
            context.close()
    portal = browser.new_context(base_url=live_server.url)
    page = portal.new_page()
    try:
        sign_in(page, "/portal/login/", "demo-contoso-alex")
        page.goto(f"/portal/cases/{demo.reference}/")
        portal_total = page.locator("#attestation dt:text-is('Total') + dd").inner_text()
        assert portal_total == total  # one formatter for sizes, on both sides
        assert re.fullmatch(r"\d+\.\d (kB|MB|GB|TB) \([\d,]+ bytes\)", total), total
        categories = page.locator(".case-facts dt:text-is('Data categories') + dd").inner_text()
        assert "_" not in categories  # labels, not codes
    finally:
        portal.close()
