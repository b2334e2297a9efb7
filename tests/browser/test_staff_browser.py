"""The staff UI in headless Chromium: a lead signs in, opens a case with its
evidence, takes it through every stage to closed with evidence at each step,
logs a raw .eml, and reads each step on the timeline; an invalid step shows
its error and changes nothing. Screenshots of the dashboard, the case list
and the case page are saved to test-results/ (CI artifacts)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest

from disclosure.cases.models import Case
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.factories import MembershipFactory

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _user(firm, role):
    user = MembershipFactory(organization=firm, role=role).user
    user.set_password(PASSWORD)
    user.save()
    return user


def _file(name: str, content: bytes, mime: str = "text/plain") -> dict:
    return {"name": name, "mimeType": mime, "buffer": content}


def _eml(found_at) -> bytes:
    date = (found_at + timedelta(hours=1)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        "From: PSIRT <psirt@contoso.example>\r\n"
        "To: research@firm.example\r\n"
        f"Date: {date}\r\n"
        "Subject: Re: exposed container\r\n"
        "Message-ID: <1@contoso.example>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        "Thank you, we are looking into it.\r\n"
    ).encode()


def field(page, name: str):
    """The form input named ``name`` (labels are checked by the view tests)."""
    return page.locator(f"[name={name}]")


def _action(page, case_url: str, label: str) -> None:
    page.goto(case_url)
    page.get_by_role("link", name=label, exact=True).click()


def _submit(page, label: str) -> None:
    page.get_by_role("button", name=label).click()


def test_a_lead_works_a_case_from_found_to_closed(page, firm, vendor, live_server):
    lead = _user(firm, "lead")
    verifier = _user(firm, "analyst")
    SHOTS.mkdir(exist_ok=True)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    page.get_by_label("Username").fill(lead.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # A new case with its exposure evidence.
    found_at = (now() - timedelta(days=2)).replace(second=0, microsecond=0)
    page.goto("/cases/new/")
    field(page, "vendor").select_option(label=vendor.name)
    field(page, "title").fill("Public blob container with e-mail archives")
    field(page, "asset_provider").select_option("azure")
    field(page, "asset_kind").select_option("blob_container")
    field(page, "asset_identifier").fill("https://contoso.blob.core.windows.net/mail")
    field(page, "how_found").fill("Scanner of open containers")
    field(page, "found_at").fill(found_at.strftime("%Y-%m-%dT%H:%M"))
    field(page, "exposure_evidence").set_input_files(
        [_file("listing.txt", b"mail/2022-09-01.pst\n")]
    )
    page.get_by_role("button", name=re.compile("Open")).click()
    expect(page).to_have_url(re.compile(r"/cases/DSC-\d{4}-\d{4}/$"))
    case = Case.objects.get()
    case_url = case.get_absolute_url()
    expect(page.locator("body")).to_contain_text(case.reference)

    # Notify the vendor, with the notice attached.
    _action(page, case_url, "Record vendor notification")
    field(page, "sender").fill("research@firm.example")
    field(page, "recipients").fill("security@contoso.example")
    field(page, "subject").fill("Exposed container")
    field(page, "body").fill("Your container is public.")
    field(page, "attachments").set_input_files([_file("notice.txt", b"notice v1")])
    _submit(page, "Record vendor notification")
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))

    # A raw .eml from the vendor, parsed into the log.
    _action(page, case_url, "Log a communication")
    field(page, "direction").select_option("inbound")
    field(page, "eml").set_input_files([_file("reply.eml", _eml(found_at), "message/rfc822")])
    _submit(page, "Log a communication")
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))

    # An invalid step: securing with neither a re-test nor a confirmation.
    before = list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True))
    _action(page, case_url, "Record asset secured")
    _submit(page, "Record asset secured")
    expect(page.locator("body")).to_contain_text("re-test result or the vendor's confirmation")
    assert list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True)) == before

    # Secured, with the re-test's evidence.
    field(page, "retest_result").fill("403 on anonymous listing")
    field(page, "evidence").set_input_files([_file("retest.txt", b"HTTP 403")])
    _submit(page, "Record asset secured")
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))

    # Deletion of our copies, with the attestation and its log.
    _action(page, case_url, "Record deletion of our copies")
    field(page, "items").fill(f"copies/mail.tar, 1024, {'a' * 64}")
    field(page, "method").select_option("purge")
    field(page, "tool").fill("shred 9.1")
    field(page, "performed_by").select_option(str(lead.pk))
    field(page, "verified_by").select_option(str(verifier.pk))
    field(page, "verification").fill("Volume checked; no file remains.")
    field(page, "evidence").set_input_files([_file("shred.log", b"ok")])
    field(page, "confirm").check()
    _submit(page, "Record deletion of our copies")
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))

    # Publication, after a confirmation step.
    _action(page, case_url, "Record publication")
    field(page, "url").fill("https://firm.example/advisories/contoso")
    field(page, "title").fill("Contoso mail archives exposed")
    _submit(page, "Record publication")
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))

    # Closed, after a confirmation step.
    _action(page, case_url, "Close case")
    _submit(page, "Close case")
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page).to_have_url(re.compile(re.escape(case_url) + "$"))

    case.refresh_from_db()
    assert case.stage == "closed"
    assert (case.vendor_notified_at, case.secured_at, case.data_deleted_at) != (None, None, None)
    assert case.evidence.count() >= 5  # capture, notice, raw .eml, re-test, deletion log
    assert verify_case(case).ok

    # Every step on the timeline.
    page.goto(case_url)
    events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
    for event in events:
        row = page.locator(f"#timeline #event-{event.seq}")
        expect(row).to_be_visible()
        expect(row).to_contain_text(event.hash[:12])
    kinds = [e.kind for e in events]
    for kind in ("case_opened", "stage_changed", "communication_logged", "evidence_attached",
                 "deletion_attested"):  # fmt: skip
        assert kind in kinds
    page.screenshot(path=SHOTS / "staff-case-page.png", full_page=True)
    page.goto("/cases/")
    expect(page.locator("body")).to_contain_text(case.reference)
    page.screenshot(path=SHOTS / "staff-case-list.png", full_page=True)
    page.goto("/")
    page.screenshot(path=SHOTS / "staff-dashboard.png", full_page=True)
