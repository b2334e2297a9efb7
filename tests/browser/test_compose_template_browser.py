"""The compose page's template picker in a real browser: choosing a template
fills the subject and text in place (htmx, no page load), the recipients
ticked, the addresses typed and the files chosen stay, and nothing breaks
the Content-Security-Policy."""

import re

import pytest

from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication, MailTemplate
from tests.browser.session import Watched, signed_in
from tests.factories import make_case

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser


@pytest.fixture
def case(analyst, vendor, firm):
    vendor.security_contacts = ["psirt@contoso.example"]
    vendor.domains = ["contoso.example"]
    vendor.save()
    MailTemplate.objects.create(
        key="follow_up",
        subject="Still open: {{ case.title }}",
        body="Hello {{ vendor.name }},\nthe bucket is still open.\n",
    )
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, title="Open bucket")


def test_picking_a_template_fills_the_text_in_place(browser, live_server, analyst, case, tmp_path):
    context = signed_in(browser, live_server, analyst)
    try:
        watched = Watched(context)
        page, console = watched.page, watched.console
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        compose = f"/cases/{case.reference}/actions/send_mail/"
        response = page.goto(compose)
        assert response is not None and response.status == 200
        page.wait_for_load_state("networkidle")
        loads = len(navigations)

        # What the writer chose before picking a template.
        page.check("input[name=to][value='psirt@contoso.example']")
        page.fill("textarea[name=cc_other]", "cert@contoso.example")
        page.fill("input[name=subject]", "my own subject")
        page.fill("textarea[name=body]", "my own text")
        listing = tmp_path / "listing.txt"
        listing.write_text("files\n")
        page.set_input_files("input[name=attachments]", str(listing))
        page.evaluate("window.__samePage = true")

        with page.expect_response(
            re.compile(r"/actions/send_mail/template/\?template=follow_up$")
        ) as r:
            page.select_option("#id_template_pick", "follow_up")
        assert r.value.status == 200
        assert r.value.request.headers.get("hx-request") == "true"
        expect(page.locator("input[name=subject]")).to_have_value("Still open: Open bucket")
        expect(page.locator("textarea[name=body]")).to_have_value(
            "Hello Contoso,\nthe bucket is still open.\n"
        )
        expect(page.locator("input[name=template_key]")).to_have_value("follow_up")

        # No page load: the same document, the same address, the choices kept.
        assert page.evaluate("window.__samePage") is True
        assert len(navigations) == loads
        assert page.url.endswith(compose)
        expect(page.locator("input[name=to][value='psirt@contoso.example']")).to_be_checked()
        expect(page.locator("textarea[name=cc_other]")).to_have_value("cert@contoso.example")
        assert (
            page.evaluate("document.querySelector('input[name=attachments]').files[0].name")
            == "listing.txt"
        )
        assert (page.evaluate("window.__cspViolations"), console) == ([], [])

        # The form sends what is on the page: the template's text, the
        # recipients and the file chosen before.
        with page.expect_navigation():
            page.click("form[enctype='multipart/form-data'] button[type=submit]")
        assert "/communications/" in page.url
        comm = Communication.objects.filter(case=case, direction="outbound").latest("id")
        assert comm.subject == f"[{case.reference}] Still open: Open bucket"
        assert comm.recipients == ["psirt@contoso.example", "cc: cert@contoso.example"]
        assert [f.original_name for f in comm.attachments.all()] == ["listing.txt"]
    finally:
        context.close()
