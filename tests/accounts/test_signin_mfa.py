"""Staff sign in with a second factor (issue 20): an authenticator app
(TOTP, django-otp) or a recovery code; set up at the first sign-in; an
admin's reset, logged; optional and offered for vendor contacts."""

import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from disclosure.accounts.models import AccessEvent
from disclosure.signin.views import PENDING_KEY
from tests.accounts.signin_helpers import PASSWORD, code_for, give_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def mfa(settings):
    settings.DISCLOSURE_STAFF_MFA_REQUIRED = True


def _password(client, user, url="/login/", **extra):
    return client.post(url, {"username": user.username, "password": PASSWORD, **extra})


@pytest.mark.parametrize("role", ["analyst", "lead", "legal", "admin_user"])
def test_staff_without_an_app_set_one_up_to_finish_signing_in(client, request, role):
    user = request.getfixturevalue(role)
    response = _password(client, user)
    assert response.status_code == 302 and response["Location"] == "/login/enrol/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # not signed in yet
    page = client.get("/login/enrol/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert re.search(r"[A-Z2-7]{4} [A-Z2-7]{4}", page.content.decode())
    wrong = client.post("/login/enrol/", {"code": "000000" if code_for(device) != "000000"
                                          else "111111"})  # fmt: skip
    assert wrong.status_code == 400 and "_auth_user_id" not in client.session
    done = client.post("/login/enrol/", {"code": code_for(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", done.content.decode())
    assert len(codes) == 10
    assert StaticToken.objects.filter(device__user=user).count() == 10
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get("/").status_code == 200
    kinds = list(AccessEvent.objects.filter(user=user).order_by("at", "id")
                 .values_list("kind", "detail"))  # fmt: skip
    assert kinds == [("mfa_enrolled", {}), ("sign_in", {"factor": "totp"})]


def test_staff_with_an_app_give_its_code(client, analyst):
    device = give_app(analyst)
    response = _password(client, analyst, next="/cases/")
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    wrong = client.post("/login/verify/", {"code": "12345x"})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    device.throttling_failure_timestamp = None  # django-otp's own 1 s back-off
    device.save()
    response = client.post("/login/verify/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert client.session["_auth_user_id"] == str(analyst.pk)
    assert PENDING_KEY not in client.session


def test_a_code_is_not_accepted_twice(client, analyst):
    device = give_app(analyst)
    _password(client, analyst)
    code = code_for(device)
    assert client.post("/login/verify/", {"code": code}).status_code == 302
    client.logout()
    _password(client, analyst)
    assert client.post("/login/verify/", {"code": code}).status_code == 400


def test_a_recovery_code_signs_in_once(client, analyst):
    device = give_app(analyst)
    _password(client, analyst)
    client.post("/login/verify/", {"code": code_for(device)})
    codes = re.findall(
        r"<li><code>([a-z2-7]{8})</code></li>",
        client.post(reverse("staff:security_recovery_codes")).content.decode(),
    )
    assert len(codes) == 10
    client.logout()
    _password(client, analyst)
    response = client.post("/login/verify/", {"code": codes[0].upper()}, follow=True)
    assert "You signed in with a recovery code; 9 left." in response.content.decode()
    assert AccessEvent.objects.filter(kind="recovery_code_used", user=analyst).count() == 1
    client.logout()
    _password(client, analyst)
    assert client.post("/login/verify/", {"code": codes[0]}).status_code == 400


def test_wrong_codes_lock_the_account(client, analyst):
    device = give_app(analyst)
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)
    _password(client, analyst)
    for _ in range(5):
        TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_timestamp=None)
        response = client.post("/login/verify/", {"code": "999999"})
    assert response.status_code == 302 and response["Location"] == "/login/"
    page = client.get("/login/")
    assert "Too many failed sign-ins" in page.content.decode()
    # Even the password and a right code are refused now.
    response = _password(client, analyst)
    assert "Too many failed sign-ins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_pending_sign_in_expires(client, analyst):
    device = give_app(analyst)
    _password(client, analyst)
    session = client.session
    pending = session[PENDING_KEY]
    from django.utils.dateparse import parse_datetime

    pending["at"] = (parse_datetime(pending["at"]) - timedelta(minutes=11)).isoformat()
    session[PENDING_KEY] = pending
    session.save()
    response = client.post("/login/verify/", {"code": code_for(device)})
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert "_auth_user_id" not in client.session


def test_verify_without_a_password_step_goes_to_sign_in(client):
    assert client.get("/login/verify/")["Location"] == "/login/"
    assert client.post("/login/enrol/", {"code": "123456"})["Location"] == "/login/"


def test_the_admin_sign_in_asks_for_the_factor_too(client, admin_user):
    device = give_app(admin_user)
    response = _password(client, admin_user, url="/admin/login/?next=/admin/", next="/admin/")
    assert response.status_code == 302 and response["Location"] == "/login/verify/"
    assert client.get("/admin/").status_code == 302
    response = client.post("/login/verify/", {"code": code_for(device)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_contact_without_an_app_signs_in_with_a_password_and_is_offered_one(
    client, vendor_contact
):
    response = _password(client, vendor_contact, url="/portal/login/")
    assert response.status_code == 302 and response["Location"] == "/portal/"
    page = client.get("/portal/", follow=True)
    assert "Protect your account with an authenticator app" in page.content.decode()
    security = client.get(reverse("portal:security"))
    assert "Set up an authenticator app" in security.content.decode()


def test_a_contact_who_set_up_an_app_is_asked_for_it(client, vendor_contact):
    device = give_app(vendor_contact)
    response = _password(client, vendor_contact, url="/portal/login/")
    assert response["Location"] == "/portal/login/verify/"
    response = client.post("/portal/login/verify/", {"code": code_for(device)})
    assert response["Location"] == "/portal/"


def test_a_contact_sets_up_and_removes_an_app(client, vendor_contact):
    client.force_login(vendor_contact)
    client.get(reverse("portal:security_enrol"))
    device = TOTPDevice.objects.get(user=vendor_contact)
    codes = client.post(reverse("portal:security_enrol"), {"code": code_for(device)})
    assert codes.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    response = client.post(reverse("portal:security_remove"),
                           {"code": code_for(device, offset=1)})  # fmt: skip
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=vendor_contact).exists()
    assert AccessEvent.objects.filter(user=vendor_contact, kind="mfa_removed").exists()


def test_staff_cannot_remove_their_app(client, analyst):
    device = give_app(analyst)
    client.force_login(analyst)
    response = client.post(reverse("staff:security_remove"), {"code": code_for(device)},
                           follow=True)  # fmt: skip
    assert "Research staff must keep a second factor." in response.content.decode()
    assert TOTPDevice.objects.filter(user=analyst).exists()


def test_an_admin_resets_a_lost_app_and_it_is_logged(client, analyst, admin_user):
    give_app(analyst)
    other = type(client)()
    _password(other, analyst)
    other.post("/login/verify/", {"code": code_for(TOTPDevice.objects.get(user=analyst))})
    assert other.get("/").status_code == 200
    client.force_login(admin_user)
    response = client.post(reverse("staff:access_reset_factor"), {"username": analyst.username})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=analyst).exists()
    event = AccessEvent.objects.get(kind="mfa_reset")
    assert (event.user, event.detail) == (analyst, {"by": admin_user.username, "devices": 1})
    assert other.get("/").status_code == 302  # their session ended
    # At the next sign-in they set up a new app.
    assert _password(other, analyst)["Location"] == "/login/enrol/"


@pytest.mark.parametrize("who", ["analyst", "lead", "legal", "vendor_contact"])
def test_only_admins_reset_factors(client, request, who, analyst):
    give_app(analyst)
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("staff:access_reset_factor"), {"username": analyst.username})
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(user=analyst).exists()


def test_an_admin_cannot_reset_their_own(client, admin_user):
    give_app(admin_user)
    client.force_login(admin_user)
    response = client.post(reverse("staff:access_reset_factor"),
                           {"username": admin_user.username}, follow=True)  # fmt: skip
    assert "Another admin must reset your own second factor." in response.content.decode()
    assert TOTPDevice.objects.filter(user=admin_user).exists()


def test_force_login_is_untouched_by_the_two_steps(client, analyst):
    """Tests that sign in with force_login never pass the sign-in pages."""
    client.force_login(analyst)
    assert client.get("/").status_code == 200


def test_production_refuses_staff_without_a_second_factor(settings):
    from disclosure.accounts.checks import check_staff_second_factor

    settings.DEBUG = False
    settings.DISCLOSURE_STAFF_MFA_REQUIRED = False
    assert [e.id for e in check_staff_second_factor()] == ["accounts.E002"]
    settings.DISCLOSURE_STAFF_MFA_REQUIRED = True
    assert check_staff_second_factor() == []


def test_the_demo_staff_sign_in_with_the_demo_key(client, settings):
    import io

    settings.DEBUG = True  # the demo's development ledger key
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "`python manage.py demo_totp` prints the current one" in out.getvalue()
    code = io.StringIO()
    call_command("demo_totp", stdout=code)
    client.post("/login/", {"username": "demo-lead", "password": "disclosure-demo"})
    response = client.post("/login/verify/", {"code": code.getvalue().split()[0]})
    assert response.status_code == 302 and response["Location"] == "/"
