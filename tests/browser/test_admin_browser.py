"""The Django admin in headless Chromium (Playwright, Debian's browser).

Admins log in, find a case by its reference and read its ledger, which the
admin offers read-only. Staff without the admin role cannot get in.
Skipped without Chromium (see tests/conftest.py); CI requires it.
"""

import os
import re

import pytest

from disclosure.cases.stages import Stage
from disclosure.ledger.models import CaseEvent
from tests.factories import MembershipFactory, make_case

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"


def log_in(page, username: str) -> None:
    page.goto("/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def test_admin_finds_case_and_reads_ledger_read_only(page, admin_user, lead, vendor):
    admin_user.set_password(PASSWORD)
    admin_user.save()
    case = make_case(Stage.SECURED, actor=lead, vendor=vendor)
    events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
    assert len(events) >= 3

    log_in(page, admin_user.username)
    expect(page.locator("#site-name")).to_have_text("Disclosure administration")
    # Styled: the admin's stylesheet is served (the header is not default black-on-white).
    header_bg = page.locator("#header").evaluate("e => getComputedStyle(e).backgroundColor")
    assert header_bg not in ("rgba(0, 0, 0, 0)", "rgb(255, 255, 255)")

    # The Cases list shows the case; its page shows the reference and stage.
    page.click("#content-main a[href='/admin/cases/case/']")
    expect(page).to_have_url(re.compile(r"/admin/cases/case/$"))
    page.get_by_role("link", name=case.reference).click()
    expect(page.locator(".field-reference .readonly")).to_have_text(case.reference)
    expect(page.locator(".field-stage .readonly")).to_have_text(re.compile("secured", re.I))

    # The ledger: every event of the case, and no way to add one.
    page.goto("/admin/ledger/caseevent/")
    page.fill("#searchbar", case.reference)
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(len(events))
    for event in events:
        expect(page.locator("#result_list")).to_contain_text(event.hash[:16])
    expect(page.locator("#content-main a.addlink")).to_have_count(0)
    expect(page.locator("a[href='/admin/ledger/caseevent/add/']")).to_have_count(0)
    expect(page.locator("select[name=action]")).to_have_count(0)

    # An event opens as a view, not a form: no inputs, no save, no delete.
    rows.first.locator("th a").click()
    expect(page.locator("#content h1")).to_have_text(re.compile(r"^View case event", re.I))
    form = page.locator("#content-main form")
    editable = "input:not([type=hidden]), textarea, select, [contenteditable=true]"
    expect(form.locator(editable)).to_have_count(0)
    expect(page.locator("input[name=_save], input[name=_continue]")).to_have_count(0)
    expect(page.locator("a.deletelink")).to_have_count(0)
    expect(page.locator(".field-hash .readonly")).to_have_text(events[0].hash)
    if os.environ.get("BROWSER_SCREENSHOT"):
        page.screenshot(path=os.environ["BROWSER_SCREENSHOT"], full_page=True)


def test_staff_without_admin_role_cannot_enter_admin(page, firm):
    analyst = MembershipFactory(organization=firm, role="analyst").user
    analyst.is_staff = True  # is_staff alone must not open the admin
    analyst.set_password(PASSWORD)
    analyst.save()

    log_in(page, analyst.username)
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("#content")).to_contain_text("not authorized to access this page")
    page.goto("/admin/cases/case/")
    expect(page).to_have_url(re.compile(r"/admin/login/"))
    expect(page.locator("#result_list")).to_have_count(0)
