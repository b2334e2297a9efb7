"""The `make run` demo, worked from the browser (issue: staff UI, must show).

On the seeded demo, the demo analyst (not an admin) signs in and takes every
open demo case through each remaining stage the transitions table gives
analysts (notify, secure, record deletion, publish) using the case pages'
forms alone; then the demo lead, who alone may close, closes each. Every
stage is reached, every chain still verifies, and the analyst is never
shown the close action."""

import io
import re

import pytest
from django.core.management import call_command

from disclosure.cases.models import Case
from disclosure.demo.seed import DEMO_PASSWORD
from disclosure.ledger.verify import verify_case

from .test_staff_browser import _action, _file, _submit, field

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

# What the analyst does to each demo case, by the stage it starts in: written
# out from the demo's script (a case per stage) and the table's analyst column.
PLAN = {
    "found": ["notify_vendor", "secure", "record_deletion", "publish"],
    "vendor_notified": ["secure", "record_deletion", "publish"],
    "secured": ["record_deletion", "publish"],
    "data_deleted": ["publish"],
    "published": [],
    "closed": [],
}
REACHED = {
    "notify_vendor": "vendor_notified",
    "secure": "secured",
    "record_deletion": "data_deleted",
    "publish": "published",
}


@pytest.fixture
def demo(settings, live_server):
    settings.DEBUG = True  # the demo's development ledger key
    call_command("seed_demo", stdout=io.StringIO())


def sign_in(page, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def notify_vendor(page, url: str, case: Case) -> None:
    _action(page, url, "Record vendor notification")
    field(page, "sender").fill("research@firm.example")
    field(page, "recipients").fill(f"security@{case.vendor.domain}")
    field(page, "subject").fill(f"{case.reference}: exposed asset")
    field(page, "body").fill("The asset is publicly reachable; please secure it.")
    _submit(page, "Record vendor notification")


def secure(page, url: str, case: Case) -> None:
    _action(page, url, "Record asset secured")
    field(page, "retest_result").fill("Anonymous access now refused (HTTP 403).")
    field(page, "evidence").set_input_files([_file("retest.txt", b"HTTP/1.1 403 Forbidden")])
    _submit(page, "Record asset secured")


def record_deletion(page, url: str, case: Case) -> None:
    _action(page, url, "Record deletion of our copies")
    field(page, "items").fill(f"copies/{case.reference}.tar, 2048, {'b' * 64}")
    field(page, "method").select_option("purge")
    field(page, "tool").fill("shred 9.1")
    staff = [
        value
        for value in field(page, "performed_by")
        .locator("option")
        .evaluate_all("options => options.map(o => o.value)")
        if value
    ]
    field(page, "performed_by").select_option(staff[0])
    field(page, "verified_by").select_option(staff[1])  # someone else verifies
    field(page, "verification").fill("Volume listed after the purge: no file remains.")
    field(page, "evidence").set_input_files([_file("shred.log", b"shred: done")])
    field(page, "confirm").check()
    _submit(page, "Record deletion of our copies")


def publish(page, url: str, case: Case) -> None:
    _action(page, url, "Record publication")
    field(page, "url").fill(f"https://firm.example/advisories/{case.reference.lower()}")
    field(page, "title").fill(f"Advisory {case.reference}")
    _submit(page, "Record publication")
    page.get_by_role("button", name=re.compile("Confirm")).click()


STEPS = {f.__name__: f for f in (notify_vendor, secure, record_deletion, publish)}


def test_the_demo_analyst_and_lead_work_every_demo_case(page, demo):
    cases = list(Case.objects.select_related("vendor").order_by("pk"))
    assert sorted(c.stage for c in cases) == sorted(  # two notified: one silent (watchers)
        ["published", "found", "vendor_notified", "vendor_notified", "secured", "data_deleted",
         "closed"]
    )  # fmt: skip
    sign_in(page, "demo-analyst")
    for case in cases:
        url = case.get_absolute_url()
        for action in PLAN[case.stage]:
            STEPS[action](page, url, case)
            expect(page).to_have_url(re.compile(re.escape(url) + "$"))
            case.refresh_from_db()
            assert case.stage == REACHED[action], (case.reference, action)
        page.goto(url)
        expect(page.get_by_role("link", name="Close case", exact=True)).to_have_count(0)

    sign_in(page, "demo-lead")
    for case in cases:
        if case.stage == "closed":
            continue
        url = case.get_absolute_url()
        _action(page, url, "Close case")
        _submit(page, "Close case")
        page.get_by_role("button", name=re.compile("Confirm")).click()
        expect(page).to_have_url(re.compile(re.escape(url) + "$"))
        case.refresh_from_db()
        assert case.stage == "closed", case.reference

    for case in Case.objects.all():
        assert case.stage == "closed"
        assert case.published_at is not None or case.close_reason != "published"
        assert verify_case(case).ok, case.reference
    page.goto("/cases/?stage=closed")
    for case in cases:
        expect(page.locator("body")).to_contain_text(case.reference)
