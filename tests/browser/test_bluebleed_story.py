"""Issue 16, must show: the BlueBleed story in the browser from the demo
logins, with the sizes, counts and dates identical on the staff case page,
the vendor portal and the signed PDF export (requested by the demo legal
user, who alone of the three may export).

The test seeds the demo as the README's ``make run`` does and signs in with
the logins ``seed_demo`` prints. Staff (the demo analyst) and the vendor
(Fabrikam's demo contact) work in two browser contexts. The demo case that
is still at "found" is walked through the story: staff notify the vendor,
the vendor acknowledges and confirms the asset secured in the portal, staff
record the deletion attestation with its evidence, the vendor countersigns
and staff publish. Then the figures of that case and of the reference
BlueBleed case (published) are read from the staff page, the portal page
and the text of the PDF each case's Exports tab produces, and compared.
Screenshots go to test-results/screenshots/."""

import io
import re

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from disclosure.cases.models import Case
from disclosure.demo.seed import DEMO_PASSWORD
from disclosure.ledger.verify import verify_case

from .conftest import FAILURE_DIR

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

SHOTS = FAILURE_DIR / "screenshots"
FOUND_TITLE = "Elasticsearch index with support tickets open to the internet"
BLUEBLEED_TITLE = "Publicly listable Azure Blob container with CRM exports"

# The figures the demo's BlueBleed script fixes (disclosure/demo/scripts.py),
# as every interface must print them: ``EVERYWHERE`` on the staff page, the
# portal page and the PDF; ``ITEMS`` (the attestation's deleted items) on the
# staff page and the PDF (the portal's case page gives their count and total;
# its countersign form lists them, checked during the walk).
BLUEBLEED_EVERYWHERE = [
    "2.4 TB (2,400,000,000,000 bytes)",  # volume
    # The counts, with the same label on every side.
    re.compile(r"Affected entities 65,000\b"),
    re.compile(r"Affected countries 111\b"),
    "emails: 335,000, projects: 133,000, users: 584,000",  # records by kind
    "2017-01-01",  # data from
    "2022-09-24",  # data to
    "24.5 GB (24,529,338,368 bytes)",  # attestation total
    # Stage times, in the case's zone (Europe/Berlin) with UTC beside.
    "2022-09-24 09:00 CEST (2022-09-24 07:00 UTC)",  # found
    "2022-09-24 11:00 CEST (2022-09-24 09:00 UTC)",  # vendor notified
    "2022-09-24 17:30 CEST (2022-09-24 15:30 UTC)",  # secured
    "2022-10-05 15:00 CEST (2022-10-05 13:00 UTC)",  # data deleted
    "2022-10-19 14:00 CEST (2022-10-19 12:00 UTC)",  # published
    "2022-09-24 12:12 CEST (2022-09-24 10:12 UTC)",  # vendor acknowledged
]
BLUEBLEED_ITEMS = ["24.1 GB (24,117,248,000 bytes)", "412.1 MB (412,090,368 bytes)"]
# What staff type into the deletion form for the walked case, and how each
# interface must print it.
DELETION_ITEMS = {"copies/es-support-tickets.ndjson.zst": 3_100_000_000, "copies/index.db": 1_234}
WALKED_ITEMS = ["3.1 GB (3,100,000,000 bytes)", "1.2 kB (1,234 bytes)"]
WALKED_EVERYWHERE = ["3.1 GB (3,100,001,234 bytes)", "tickets: 48,210"]
# A case time: in the case's zone with UTC beside.
TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d [A-Z]{3,4} \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)")


def shot(page, name: str) -> None:
    page.screenshot(path=SHOTS / f"story-{name}.png", full_page=True)


def sign_in(page, username: str, heading: str) -> None:
    page.goto(
        "/portal/login/"
        if username.startswith("demo-contoso") or "fabrikam" in username
        else "/login/"
    )
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=heading)).to_be_visible()


def field(page, name: str):
    return page.locator(f"[name={name}]")


def staff_action(page, case: Case, label: str) -> None:
    page.goto(case.get_absolute_url())
    page.get_by_role("link", name=label, exact=True).click()


def vendor_action(page, case: Case, label: str) -> None:
    page.goto(f"/portal/cases/{case.reference}/")
    page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_role("heading", name=label)).to_be_visible()


def done(page, text: str) -> None:
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


def found(figure: str | re.Pattern, text: str) -> bool:
    """Whether ``text`` prints ``figure`` (a literal string or a pattern)."""
    return bool(figure.search(text)) if isinstance(figure, re.Pattern) else figure in text


def one_line(text: str) -> str:
    """Whitespace (line breaks, no-break spaces) as single spaces."""
    return re.sub(r"\s+", " ", text.replace("\u00a0", " "))


def staff_text(page, case: Case) -> str:
    """The staff case page: header, stage bar and the attestation tab."""
    page.goto(case.get_absolute_url())
    text = page.locator("main").inner_text()
    page.goto(f"{case.get_absolute_url()}attestation/")
    return one_line(text + "\n" + page.locator("#tab-panel").inner_text())


def portal_text(page, case: Case) -> str:
    page.goto(f"/portal/cases/{case.reference}/")
    return one_line(page.locator("main").inner_text())


def pdf_text(page, case: Case, name: str) -> str:
    """Request a PDF export from the case's Exports tab, download it, and
    return its text."""
    page.goto(case.get_absolute_url())
    page.get_by_role("link", name="Exports", exact=True).click()
    # Without a broker the export renders within the request (eager Celery).
    page.get_by_role("button", name="Request export").click(timeout=60_000)
    download_link = page.locator("#exports-list").get_by_role("button", name="Download").first
    expect(download_link).to_be_visible(timeout=30_000)
    shot(page, f"{name}-exports")
    with page.expect_download() as info:
        download_link.click()
    path = SHOTS / f"story-{name}.pdf"
    info.value.save_as(path)
    # The exports list states the file's size as every other size: exact bytes beside.
    expect(page.locator("#exports-list")).to_contain_text(f"({path.stat().st_size:,} bytes)")
    reader = PdfReader(path)
    return one_line("\n".join(p.extract_text() or "" for p in reader.pages))


@pytest.fixture
def demo(settings, live_server):
    settings.DEBUG = True  # the demo's development ledger key and export certificate
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_the_bluebleed_story_from_the_demo_logins(browser, live_server, demo):
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The logins the README tells a new user to use are the ones seed_demo prints.
    for username in ("demo-analyst", "demo-legal", "demo-fabrikam-rui", "demo-contoso-alex"):
        assert username in demo
    assert DEMO_PASSWORD in demo
    case = Case.objects.get(title=FOUND_TITLE)
    bluebleed = Case.objects.get(title=BLUEBLEED_TITLE)
    assert (case.stage, case.vendor.name, bluebleed.stage) == ("found", "Fabrikam", "published")

    contexts = []

    def new_page():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    try:
        staff, vendor = new_page(), new_page()
        sign_in(staff, "demo-analyst", "Dashboard")
        sign_in(vendor, "demo-fabrikam-rui", "My cases")
        # Not told yet: the vendor does not see the case.
        expect(vendor.get_by_text(case.reference)).to_have_count(0)

        # Staff notify the vendor.
        staff_action(staff, case, "Record vendor notification")
        field(staff, "sender").fill("disclosure@firm.example")
        field(staff, "recipients").fill("rui.santos@fabrikam.example")
        field(staff, "subject").fill(f"[{case.reference}] Elasticsearch index open")
        field(staff, "body").fill("Your support-ticket index answers without credentials.")
        staff.get_by_role("button", name="Record vendor notification").click()
        expect(staff).to_have_url(re.compile(re.escape(case.get_absolute_url()) + "$"))
        shot(staff, "staff-notified")

        # The vendor acknowledges, then confirms the asset secured, in the portal.
        vendor.goto("/portal/")
        vendor.get_by_role("link", name=case.reference).click()
        vendor_action(vendor, case, "Acknowledge the notice")
        vendor.get_by_role("button", name="Acknowledge the notice").click()
        done(vendor, "Your acknowledgement is recorded.")
        vendor_action(vendor, case, "Confirm the asset is secured")
        vendor.get_by_label("How was it secured?").fill("Authentication enabled on the node.")
        vendor.get_by_label("I confirm the asset is no longer publicly reachable.").check()
        vendor.get_by_role("button", name="Confirm the asset is secured").click()
        done(vendor, "secured is recorded")
        case.refresh_from_db()
        assert case.stage == "secured"
        assert case.vendor_acknowledged_at is not None

        # Staff record the deletion of their copies, with evidence.
        staff_action(staff, case, "Record deletion of our copies")
        field(staff, "items").fill(
            "\n".join(
                f"{path}, {size}, {str(n) * 64}"
                for n, (path, size) in enumerate(DELETION_ITEMS.items(), 1)
            )
        )
        field(staff, "method").select_option("purge")
        field(staff, "tool").fill("shred 9.1")
        people = (
            field(staff, "performed_by")
            .locator("option")
            .evaluate_all("options => options.filter(o => o.value).map(o => o.value)")
        )
        field(staff, "performed_by").select_option(people[0])
        field(staff, "verified_by").select_option(people[1])  # someone else verifies
        field(staff, "verification").fill("The analysis volume lists no copy.")
        field(staff, "evidence").set_input_files(
            [{"name": "shred.log", "mimeType": "text/plain", "buffer": b"shred: done\n"}]
        )
        field(staff, "confirm").check()
        staff.get_by_role("button", name="Record deletion of our copies").click()
        expect(staff).to_have_url(re.compile(re.escape(case.get_absolute_url()) + "$"))
        case.refresh_from_db()
        assert case.stage == "data_deleted"

        # The vendor countersigns; the form shows the items and total first.
        vendor_action(vendor, case, "Countersign the deletion attestation")
        for figure in WALKED_ITEMS + WALKED_EVERYWHERE[:1]:
            expect(vendor.locator("main")).to_contain_text(figure)
        vendor.get_by_label("Your title").fill("Head of Security")
        vendor.get_by_label(
            "I countersign the deletion attestation on behalf of my organization."
        ).check()
        vendor.get_by_role("button", name="Countersign the deletion attestation").click()
        done(vendor, "countersigned")

        # Staff publish.
        staff_action(staff, case, "Record publication")
        field(staff, "url").fill("https://firm.example/advisories/fabrikam-support-tickets")
        field(staff, "title").fill("Fabrikam's helpdesk index was open to the internet")
        staff.get_by_role("button", name="Record publication").click()
        staff.get_by_role("button", name=re.compile("Confirm")).click()
        expect(staff).to_have_url(re.compile(re.escape(case.get_absolute_url()) + "$"))
        case.refresh_from_db()
        assert case.stage == "published"
        assert verify_case(case).ok

        # The same figures on the staff page, the portal and the PDF (legal export).
        legal = new_page()
        sign_in(legal, "demo-legal", "Dashboard")
        for c, name, vendor_user, everywhere, items in (
            (case, "walked", None, WALKED_EVERYWHERE, WALKED_ITEMS),
            (bluebleed, "bluebleed", "demo-contoso-alex", BLUEBLEED_EVERYWHERE, BLUEBLEED_ITEMS),
        ):
            if vendor_user:
                vendor.context.clear_cookies()
                sign_in(vendor, vendor_user, "My cases")
            # The stage times as the staff stage bar prints them (Occurred).
            staff.goto(c.get_absolute_url())
            occurred = staff.locator(".stage-bar dl").evaluate_all(
                "dls => dls.map(dl => dl.querySelector('dd').innerText)"
            )
            stage_times = [one_line(t) for t in occurred]
            on_staff = staff_text(staff, c)
            shot(staff, f"{name}-staff")
            on_portal = portal_text(vendor, c)
            shot(vendor, f"{name}-portal")
            on_pdf = pdf_text(legal, c, name)
            texts = {"staff": on_staff, "portal": on_portal, "pdf": on_pdf}
            for where, text in texts.items():  # kept beside the screenshots
                (SHOTS / f"story-{name}-{where}.txt").write_text(text)
            assert len(stage_times) == 5 and all(TIME.fullmatch(t) for t in stage_times), (
                stage_times
            )
            missing = [
                (where, figure)
                for figure in everywhere + stage_times
                for where, text in texts.items()
                if not found(figure, text)
            ]
            missing += [
                (where, figure) for figure in items for where in ("staff", "pdf")
                if figure not in texts[where]
            ]  # fmt: skip
            assert missing == [], name
    finally:
        for context in contexts:
            context.close()
