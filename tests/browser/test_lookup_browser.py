"""The verified lookup in a real browser, as an affected organization's
portal contact walks it: a lookup before verifying gets the one answer for
every refusal; the code mailed to security@ verifies the domain; the same
lookup then shows the case with counts over the contact's own domain only;
no page breaks the Content-Security-Policy."""

import re

import pytest
from django.core import mail

from disclosure.cases.stages import Stage
from tests.browser.session import Watched, signed_in
from tests.factories import MembershipFactory, VendorFactory, make_case
from tests.lookups.conftest import RECORDS, import_records

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

REFUSAL = "No case we can show you mentions northwind.com."


@pytest.fixture
def asker(db):
    """A portal account of an affected organization that is not the vendor."""
    northwind = VendorFactory(name="Northwind", domain="northwind.com")
    return MembershipFactory(organization=northwind, role="vendor_contact").user


@pytest.fixture
def notified_case(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor,
                     data_categories=["pii", "email_addresses"])  # fmt: skip
    import_records(case, analyst, RECORDS)
    return case


def test_verify_by_mailed_code_then_look_up(browser, live_server, asker, notified_case):
    context = signed_in(browser, live_server, asker)
    try:
        w = Watched(context)
        page = w.page
        w.visit("/portal/")
        page.get_by_role("link", name="Domain lookup").click()
        page.fill("input[name=domain]", "NorthWind.com")
        page.get_by_role("button", name="Look up").click()
        expect(page.locator("#answer-heading")).to_have_text(REFUSAL)
        assert notified_case.reference not in page.content()

        mail.outbox.clear()
        w.visit("/portal/lookup/verify/?domain=northwind.com")
        page.check("input[name=address][value='security@northwind.com']")
        page.get_by_role("button", name="Send the code").click()
        expect(page.get_by_role("heading", name="Enter the code")).to_be_visible()
        (sent,) = mail.outbox
        assert sent.to == ["security@northwind.com"]
        code = re.search(r"The code is: (\d{4}-\d{4})", sent.body).group(1)
        page.fill("input[name=code]", code)
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_text("Code mailed to an RFC 2142 role address")).to_be_visible()

        w.visit("/portal/lookup/")
        page.fill("input[name=domain]", "northwind.com")
        page.get_by_role("button", name="Look up").click()
        row = page.locator("#lookup-answer tbody tr")
        expect(row).to_have_count(1)
        # Only northwind.com's records: 5 mentions, 2 addresses, 3 hosts
        # (fabrikam.com's rows in the same case are never counted).
        expect(row.locator("td")).to_have_text(
            [notified_case.reference, "Vendor notified",
             "E-mail addresses, Personal data (PII)", "5", "2", "3"]
        )  # fmt: skip
        assert "fabrikam" not in page.content()
        w.assert_clean("lookup pages")
    finally:
        context.close()
