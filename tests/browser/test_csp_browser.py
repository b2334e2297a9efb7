"""The Content-Security-Policy in a real browser (issue 20, part 4): on the
seeded demo, the main staff pages, the portal's, the admin's and the API
docs load with no ``securitypolicyviolation`` event and no "Refused to"
console message, every one under the site's policy (nothing inline); htmx
still swaps the case page's tabs, filters the case list, polls the mail
count; the API docs render the schema; the token field still selects."""

import io
import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from disclosure.accounts.models import User
from disclosure.cases.models import Case

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

# Installed before any of the page's own scripts: every violation the page
# reports, whatever its source (an inline script, style, attribute, handler).
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(
    `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`
  );
});
"""


@pytest.fixture
def demo(settings, live_server):
    settings.DEBUG = True  # the demo's development ledger key
    call_command("seed_demo", stdout=io.StringIO())
    return Case.objects.get(reference="DSC-2022-0001")  # BlueBleed


class Watched:
    """A page whose CSP violations (events and console lines) are kept."""

    def __init__(self, context):
        context.add_init_script(RECORD_VIOLATIONS)
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on(
            "console",
            lambda msg: (
                self.console.append(msg.text)
                if "Content Security Policy" in msg.text or "Refused to" in msg.text
                else None
            ),
        )

    def visit(self, path: str) -> None:
        """Open ``path``, wait for its requests to settle and fail on any
        violation; the page must carry the site's policy (or a page's own
        addition to it), never one that allows inline code wholesale."""
        response = self.page.goto(path)
        assert response is not None and response.status == 200, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (path, policy)
        self.page.wait_for_load_state("networkidle")
        self.assert_clean(path)

    def assert_clean(self, where: str) -> None:
        events = self.page.evaluate("window.__cspViolations")
        assert (events, self.console) == ([], []), where


def signed_in(browser, live_server, username: str):
    """A browser context with ``username``'s session (the sign-in pages and
    their second factor have their own browser tests)."""
    client = Client()
    client.force_login(User.objects.get(username=username))
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1366, "height": 900})
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context


def test_staff_pages_have_no_violations_and_htmx_works(browser, live_server, demo):
    context = signed_in(browser, live_server, "demo-admin")
    try:
        w = Watched(context)
        ref = demo.reference
        org = demo.vendor_id
        for path in (
            "/",
            "/cases/",
            "/cases/new/",
            f"/cases/{ref}/",
            f"/cases/{ref}/exports/",
            "/organizations/",
            f"/organizations/{org}/",
            "/tokens/",
            "/mail/",
            "/mail/templates/",
            "/settings/mail/",
            "/settings/security/",
            "/settings/access/",
            "/webhooks/",
            "/webhooks/new/",
            "/webhooks/deliveries/",
            f"/cases/{ref}/affected/",
            f"/cases/{ref}/probes/",
            f"/portal/preview/{ref}/",
        ):
            w.visit(path)
        page = w.page
        # The dashboard's chart (Chart.js, from static/) drew on its canvas,
        # and the mail count in the navigation is fetched by htmx on load.
        with page.expect_response(re.compile(r"/mail/count/$")) as count:
            w.visit("/")
        assert count.value.status == 200
        assert count.value.request.headers.get("hx-request") == "true"
        expect(page.locator("canvas").first).to_be_visible()
        # The case page's tabs are htmx swaps, not reloads.
        w.visit(f"/cases/{ref}/")
        page.evaluate("window.beforeTabClick = true")
        tabs = page.get_by_role("navigation", name="Case sections")
        tabs.get_by_role("link", name=re.compile("^Communications")).click()
        expect(page).to_have_url(re.compile(rf"/cases/{ref}/communications/$"))
        expect(page.locator("#communications")).to_be_visible()
        assert page.evaluate("window.beforeTabClick === true")
        tabs.get_by_role("link", name=re.compile("^Evidence")).click()
        expect(page).to_have_url(re.compile(rf"/cases/{ref}/evidence/$"))
        assert page.evaluate("window.beforeTabClick === true")
        w.assert_clean("case tabs")
        # The case list's filters are an htmx swap too.
        w.visit("/cases/")
        page.evaluate("window.beforeFilter = true")
        page.get_by_label("Search").fill(ref)
        page.get_by_label("Search").press("Enter")
        expect(page).to_have_url(re.compile(rf"[?&]q={ref}"))
        expect(page.get_by_role("link", name=ref).first).to_be_visible()
        assert page.evaluate("window.beforeFilter === true")
        w.assert_clean("case list filter")
        # A new API token's field selects itself on a click (static/js/staff.js).
        w.visit("/tokens/")
        page.get_by_label("Name").fill("csp test")
        page.get_by_role("button", name=re.compile("Create")).click()
        field = page.get_by_role("textbox", name="New token")
        field.click()
        assert page.evaluate(
            "(() => { const f = document.activeElement;"
            " return f.selectionStart === 0 && f.selectionEnd === f.value.length"
            " && f.value.length > 20; })()"
        )
        w.assert_clean("token page")
    finally:
        context.close()


def test_portal_pages_have_no_violations(browser, live_server, demo):
    context = signed_in(browser, live_server, "demo-contoso-alex")
    try:
        w = Watched(context)
        for path in (
            "/portal/",
            "/portal/settings/mail/",
            "/portal/settings/security/",
            "/portal/tokens/",
            f"/portal/cases/{demo.reference}/affected/",
        ):
            w.visit(path)
        w.visit(f"/portal/cases/{demo.reference}/")
        expect(w.page.locator("#attestation")).to_be_visible()
    finally:
        context.close()
    anonymous = browser.new_context(base_url=live_server.url)
    try:
        w = Watched(anonymous)
        for path in (
            "/portal/login/",
            "/portal/password-reset/",
            "/login/",
            "/password-reset/",
            "/admin/login/",
        ):
            w.visit(path)
    finally:
        anonymous.close()


def test_admin_pages_have_no_violations(browser, live_server, demo):
    context = signed_in(browser, live_server, "demo-admin")
    try:
        w = Watched(context)
        for path in (
            "/admin/",
            "/admin/cases/case/",
            f"/admin/cases/case/{demo.pk}/change/",
            "/admin/ledger/caseevent/",
            "/admin/accounts/user/",
            "/admin/tokens/apitoken/",
        ):
            w.visit(path)
        w.page.goto("/admin/cases/case/")
        expect(w.page.locator("#result_list")).to_be_visible()
        # The admin's own scripts ran (the collapsible filter toggles).
        w.assert_clean("admin")
    finally:
        context.close()


def test_api_docs_render_with_a_nonce_and_no_violations(browser, live_server, demo):
    context = browser.new_context(base_url=live_server.url)
    try:
        w = Watched(context)
        w.visit("/api/v1/docs/")
        expect(w.page.locator(".swagger-ui .info .title")).to_contain_text("Disclosure API")
        expect(w.page.locator(".opblock").first).to_be_visible()
        w.assert_clean("api docs")
    finally:
        context.close()
