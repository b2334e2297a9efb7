"""Sign-in security in headless Chromium (issue 20): a staff member sets up
an authenticator app at the first sign-in and signs in with its code; next
time with a recovery code; three wrong passwords lock the account (even the
right one is refused then); an admin, signed in with their own app, unlocks
it from the access audit page; the staff member signs in again."""

import base64
import re
import time

import pytest
from django_otp.oath import TOTP

from tests.accounts.signin_helpers import code_for, give_app
from tests.factories import MembershipFactory

try:
    from playwright.sync_api import expect
except ImportError:  # tests/conftest.py skips (or fails) these tests with a reason
    expect = None

pytestmark = pytest.mark.browser

PASSWORD = "browser-test-pw-1"
LOCKED = "Too many failed sign-ins: sign-in is locked for 15 minutes."


def _code_from_secret(secret: str, *, offset: int = 0) -> str:
    key = base64.b32decode(secret.replace(" ", "") + "=" * (-len(secret.replace(" ", "")) % 8))
    totp = TOTP(key)
    totp.time = time.time() + 30 * offset
    return f"{totp.token():06d}"


def _password(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page) -> None:
    page.get_by_role("button", name=re.compile(r"^Sign out")).click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


@pytest.fixture
def people(firm, settings):
    settings.DISCLOSURE_STAFF_MFA_REQUIRED = True
    settings.DISCLOSURE_LOCKOUT_ACCOUNT_FAILURES = 3
    analyst = MembershipFactory(organization=firm, role="analyst").user
    admin = MembershipFactory(organization=firm, role="admin").user
    admin.is_staff = True
    for user in (analyst, admin):
        user.set_password(PASSWORD)
        user.save()
    return analyst, admin, give_app(admin)


def test_totp_recovery_code_lock_out_and_admin_unlock(page, browser, live_server, people):
    analyst, admin, admin_app = people

    # First sign-in: the password, then setting up the app.
    _password(page, analyst.username)
    expect(page.get_by_role("heading", name="Set up an authenticator app")).to_be_visible()
    secret = page.locator("code.secret").first.inner_text()
    page.get_by_label("Code from the app").fill(_code_from_secret(secret))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.locator("ul.recovery-codes code").all_inner_texts()
    assert len(codes) == 10
    page.get_by_role("button", name=re.compile("I have saved them")).click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    _sign_out(page)

    # Next time: a recovery code instead of the app's code.
    _password(page, analyst.username)
    expect(page.get_by_role("heading", name="Second factor")).to_be_visible()
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_text("You signed in with a recovery code; 9 left.")).to_be_visible()
    _sign_out(page)

    # Three wrong passwords lock the account; then the right one is refused too.
    for attempt in range(3):
        _password(page, analyst.username, f"wrong-{attempt}")
    expect(page.get_by_role("alert")).to_contain_text(LOCKED)
    _password(page, analyst.username)
    expect(page.get_by_role("alert")).to_contain_text(LOCKED)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # An admin (with their own app) unlocks it from the access audit.
    admin_context = browser.new_context(base_url=live_server.url)
    admin_page = admin_context.new_page()
    _password(admin_page, admin.username)
    admin_page.get_by_label("Code").fill(code_for(admin_app))
    admin_page.get_by_role("button", name="Verify").click()
    expect(admin_page.get_by_role("heading", name="Dashboard")).to_be_visible()
    admin_page.goto("/settings/security/")
    admin_page.get_by_role("link", name=re.compile("Access audit")).click()
    expect(admin_page.get_by_role("heading", name="Access audit")).to_be_visible()
    expect(admin_page.get_by_role("cell", name="Locked out").first).to_be_visible()
    admin_page.get_by_role("button", name=f"Unlock {analyst.username}").click()
    expect(admin_page.get_by_text(f"Unlocked {analyst.username}.")).to_be_visible()
    expect(admin_page.get_by_text("No account or address is locked.")).to_be_visible()
    admin_context.close()

    # Unlocked: the password and the app's (next) code sign in again.
    _password(page, analyst.username)
    page.get_by_label("Code").fill(_code_from_secret(secret, offset=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
