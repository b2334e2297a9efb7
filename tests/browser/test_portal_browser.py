"""The vendor portal in headless Chromium: staff invite a Contoso contact
from the vendor's page; the contact accepts the e-mailed link, sets a
password and lands in the portal, then acknowledges, replies, uploads
evidence, confirms the asset secured, countersigns the deletion attestation
and files a dispute. The staff case page then shows each of these, and the
staff preview shows the vendor's view. Screenshots go to test-results/."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail

from disclosure.cases.models import Case
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.factories import MembershipFactory, advance, make_case

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
CONTACT_PASSWORD = "contoso-liaison-passphrase-7"
SHOTS = Path(__file__).resolve().parents[2] / "test-results"


def _user(org, role):
    user = MembershipFactory(organization=org, role=role).user
    user.set_password(PASSWORD)
    user.save()
    return user


def _file(name: str, content: bytes, mime: str = "text/plain") -> dict:
    return {"name": name, "mimeType": mime, "buffer": content}


def _sign_in(page, url: str, username: str, password: str) -> None:
    page.goto(url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page) -> None:
    page.get_by_role("button", name=re.compile(r"^Sign out")).click()


def _act(page, case_url: str, label: str) -> None:
    page.goto(case_url)
    page.get_by_role("button", name=label, exact=True).click()  # links styled as buttons
    expect(page.get_by_role("heading", name=label)).to_be_visible()


def _done(page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def test_a_contact_accepts_an_invitation_and_works_a_case(page, firm, vendor, other_vendor):
    analyst = _user(firm, "analyst")
    case = make_case(
        "vendor_notified",
        actor=analyst,
        vendor=vendor,
        start=now() - timedelta(days=2),
        affected_entity_count=65000,
        how_found="INTERNAL-HOW-FOUND",
    )
    fabrikam = make_case("vendor_notified", actor=analyst, vendor=other_vendor, title="Fabrikam")
    SHOTS.mkdir(exist_ok=True)
    mail.outbox.clear()

    # Staff invite the contact from Contoso's page.
    _sign_in(page, "/login/", analyst.username, PASSWORD)
    page.get_by_role("link", name="Vendors").click()
    page.get_by_role("link", name="Contoso").click()
    page.get_by_label("E-mail address of the contact").fill("liaison@contoso.example")
    page.get_by_role("button", name="Send invitation").click()
    _done(page, "Invitation sent to liaison@contoso.example")
    page.screenshot(path=SHOTS / "staff-vendor-organization.png", full_page=True)
    _sign_out(page)
    link = re.search(r"https?://\S+/portal/invitation/\S+/", mail.outbox[-1].body).group(0)

    # The contact accepts it and lands in the portal.
    page.goto(link)
    expect(page.get_by_role("heading", name="Join the vendor portal")).to_be_visible()
    page.screenshot(path=SHOTS / "portal-invitation.png", full_page=True)
    page.get_by_label("First name").fill("Alex")
    page.get_by_label("Last name").fill("Chen")
    page.get_by_label("Password", exact=True).fill(CONTACT_PASSWORD)
    page.get_by_label("Password again").fill(CONTACT_PASSWORD)
    page.get_by_role("button", name="Set password and sign in").click()
    expect(page.get_by_role("heading", name="My cases")).to_be_visible()
    expect(page.get_by_role("link", name=case.reference)).to_be_visible()
    expect(page.get_by_text(fabrikam.reference)).to_have_count(0)
    page.screenshot(path=SHOTS / "portal-my-cases.png", full_page=True)
    # The used link is refused with a clear page.
    page.goto(link)
    expect(page.get_by_text("This invitation was used already")).to_be_visible()

    case_url = f"/portal/cases/{case.reference}/"
    _act(page, case_url, "Acknowledge the notice")
    page.get_by_label("Note to the research firm (optional)").fill("We are on it.")
    page.get_by_role("button", name="Acknowledge the notice").click()
    _done(page, "Your acknowledgement is recorded.")

    _act(page, case_url, "Send a message")
    page.get_by_label("Subject").fill("Container closed")
    page.get_by_label("Message").fill("We removed anonymous access this morning.")
    page.get_by_role("button", name="Send a message").click()
    _done(page, "Your message is sent")

    _act(page, case_url, "Upload evidence")
    page.get_by_label("File").set_input_files(_file("acl.png", b"\x89PNG acl", "image/png"))
    page.get_by_label("What it shows").select_option("screenshot")
    page.get_by_role("button", name="Upload evidence").click()
    _done(page, "Your file is attached")

    _act(page, case_url, "Confirm the asset is secured")
    # An invalid time is refused with its error and changes nothing.
    page.get_by_label("When was the asset secured?").fill("2000-01-01T00:00")
    page.get_by_label("How was it secured?").fill("Anonymous access removed.")
    page.get_by_label("I confirm the asset is no longer publicly reachable.").check()
    page.get_by_role("button", name="Confirm the asset is secured").click()
    expect(page.get_by_text("cannot be before")).to_be_visible()
    assert Case.objects.get(pk=case.pk).stage == "vendor_notified"
    page.get_by_label("When was the asset secured?").fill(
        (now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    )
    page.get_by_label("I confirm the asset is no longer publicly reachable.").check()
    page.get_by_role("button", name="Confirm the asset is secured").click()
    _done(page, "secured is recorded")

    # The firm deletes its copies (staff side, through the service).
    case.refresh_from_db()
    advance(case, "data_deleted", actor=analyst, at=now() - timedelta(minutes=1))

    _act(page, case_url, "Countersign the deletion attestation")
    page.get_by_label("Your title").fill("CISO")
    page.get_by_label(
        "I countersign the deletion attestation on behalf of my organization."
    ).check()
    page.get_by_role("button", name="Countersign the deletion attestation").click()
    _done(page, "countersigned")

    _act(page, case_url, "File a statement or dispute")
    page.get_by_label("What do you dispute?").fill("Affected entity count")
    page.get_by_label("Your position").fill("Your 65,000 double-counts entities; ours is 548.")
    page.get_by_label("How you established it").fill("Deduplicated by tenant id.")
    page.get_by_role("button", name="File a statement or dispute").click()
    _done(page, "Your statement is filed")
    expect(page.get_by_text("ours is 548.")).to_be_visible()
    expect(page.get_by_text("INTERNAL-HOW-FOUND")).to_have_count(0)
    page.screenshot(path=SHOTS / "portal-case.png", full_page=True)
    _sign_out(page)

    # Staff see every step on the case page, and the vendor's view in preview.
    _sign_in(page, "/login/", analyst.username, PASSWORD)
    page.goto(f"/cases/{case.reference}/")
    kinds = set(CaseEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert {
        "vendor_acknowledged", "communication_logged", "evidence_attached",
        "attestation_countersigned", "dispute_filed",
    } <= kinds  # fmt: skip
    timeline = page.locator("#timeline")
    for label in ("Vendor acknowledged", "Communication logged", "Evidence attached",
                  "Attestation countersigned", "Dispute filed"):  # fmt: skip
        expect(timeline.get_by_text(label).first).to_be_visible()
    # Each record has its own tab, at its own URL.
    for tab, text in (
        ("communications", "Container closed"),
        ("evidence", "acl.png"),
        ("disputes", "ours is 548."),
        ("attestation", "CISO"),
    ):
        page.goto(f"/cases/{case.reference}/{tab}/")
        expect(page.locator("#tab-panel").get_by_text(text).first).to_be_visible()
    assert Case.objects.get(pk=case.pk).stage == "data_deleted"
    page.get_by_role("link", name="Preview as the vendor sees it").click()
    expect(page.get_by_text("Preview:")).to_be_visible()
    expect(page.get_by_text("INTERNAL-HOW-FOUND")).to_have_count(0)
    page.screenshot(path=SHOTS / "portal-preview.png", full_page=True)
    assert verify_case(Case.objects.get(pk=case.pk)).ok
