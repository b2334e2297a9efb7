"""Issue 20's attacks, each repeated as an adversary would: 30 wrong
passwords on each sign-in page and 30 wrong API tokens, then the right one;
the wrong sign-in page telling a right password from a wrong one. Then the
lock-out's rules: per account, per address, the window, the admin unlock."""

from datetime import timedelta

import pytest
from django.urls import reverse

from disclosure.accounts.models import AccessEvent
from disclosure.tokens import services as tokens
from tests.accounts.signin_helpers import PASSWORD

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins: sign-in is locked for 15 minutes."
GENERIC = "Please enter a correct username and password."

PAGES = [("/login/", "analyst"), ("/portal/login/", "vendor_contact"),
         ("/admin/login/", "admin_user")]  # fmt: skip


def _post(client, url, username, password):
    return client.post(url, {"username": username, "password": password})


@pytest.mark.parametrize("url,who", PAGES)
def test_thirty_wrong_passwords_then_the_right_one_is_refused(client, request, url, who):
    user = request.getfixturevalue(who)
    for attempt in range(30):
        response = _post(client, url, user.username, f"wrong-{attempt}")
        assert response.status_code == 200
        assert (LOCKED if attempt >= 4 else GENERIC) in response.content.decode()
    response = _post(client, url, user.username, PASSWORD)
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    kinds = list(AccessEvent.objects.filter(username=user.username).values_list("kind", flat=True))
    assert kinds.count("sign_in_failed") == 5
    assert kinds.count("locked_out") == 1
    assert kinds.count("sign_in_locked") == 26  # 25 wrong and the right one, refused unchecked


def test_thirty_wrong_tokens_then_the_right_one_is_refused(client, analyst):
    issued = tokens.create_token(user=analyst, name="scanner")
    for attempt in range(30):
        response = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer dsc_wrong{attempt}")
        assert response.status_code == (401 if attempt < 20 else 429)
    response = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert response.status_code == 429
    assert LOCKED in response.json()["message"]
    assert AccessEvent.objects.filter(kind="token_failed", address="127.0.0.1").count() == 20


def test_a_right_token_works_after_a_few_wrong_ones(client, analyst):
    issued = tokens.create_token(user=analyst, name="scanner")
    for attempt in range(3):
        client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer dsc_wrong{attempt}")
    response = client.get("/api/v1/cases/", HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    assert response.status_code == 200


@pytest.mark.parametrize("url,who", [("/portal/login/", "analyst"), ("/login/", "vendor_contact")])
def test_the_wrong_sign_in_page_answers_as_a_wrong_password_does(client, request, url, who):
    user = request.getfixturevalue(who)
    right = _post(client, url, user.username, PASSWORD)
    wrong = _post(client, url, user.username, "not-it")
    assert right.status_code == wrong.status_code == 200
    assert right.context["form"].non_field_errors() == wrong.context["form"].non_field_errors()
    assert right.context["form"].non_field_errors() == [
        "Please enter a correct username and password. Note that both fields may be "
        "case-sensitive. Research staff sign in to the staff site, vendor contacts to "
        "the vendor portal."
    ]
    failures = AccessEvent.objects.filter(kind="sign_in_failed", username=user.username)
    assert sorted(failures.values_list("detail__reason", flat=True)) == ["password", "wrong_page"]


def test_the_wrong_page_counts_toward_the_lock_out(client, analyst):
    for _ in range(5):
        _post(client, "/portal/login/", analyst.username, PASSWORD)
    response = _post(client, "/login/", analyst.username, PASSWORD)
    assert LOCKED in response.content.decode()


def test_an_unknown_account_locks_like_a_real_one(client):
    for _ in range(5):
        response = _post(client, "/login/", "nobody-here", "guess")
    assert LOCKED in response.content.decode()


def test_an_address_is_locked_after_failures_on_many_accounts(client, settings, analyst):
    settings.DISCLOSURE_LOCKOUT_ADDRESS_FAILURES = 8
    for n in range(8):
        _post(client, "/login/", f"spray-{n}", "guess")
    response = _post(client, "/login/", analyst.username, PASSWORD)
    assert LOCKED in response.content.decode()
    # Another address is not locked (and the account itself has no failure).
    response = client.post("/login/", {"username": analyst.username, "password": PASSWORD},
                           REMOTE_ADDR="192.0.2.7")  # fmt: skip
    assert response.status_code == 302


def test_a_sign_in_resets_the_accounts_count(client, analyst):
    for _ in range(4):
        _post(client, "/login/", analyst.username, "wrong")
    assert _post(client, "/login/", analyst.username, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        response = _post(client, "/login/", analyst.username, "wrong")
    assert GENERIC in response.content.decode()


def test_the_lock_ends_when_the_window_has_passed(client, analyst):
    for _ in range(5):
        _post(client, "/login/", analyst.username, "wrong")
    assert LOCKED in _post(client, "/login/", analyst.username, PASSWORD).content.decode()
    for event in AccessEvent.objects.all():  # as if 16 minutes had passed
        AccessEvent.objects.filter(pk=event.pk).update(at=event.at - timedelta(minutes=16))
    assert _post(client, "/login/", analyst.username, PASSWORD).status_code == 302


def _lock(client, username):
    for _ in range(5):
        _post(client, "/login/", username, "wrong")


def test_an_admin_unlocks_an_account(client, analyst, admin_user):
    _lock(client, analyst.username)
    client.force_login(admin_user)
    page = client.get(reverse("staff:access_audit"))
    assert f"Unlock {analyst.username}" in page.content.decode()
    response = client.post(reverse("staff:access_unlock"), {"username": analyst.username})
    assert response.status_code == 302
    unlocked = AccessEvent.objects.get(kind="unlocked")
    assert (unlocked.username, unlocked.detail) == (
        analyst.username,
        {"scope": "account", "by": admin_user.username},
    )
    client.logout()
    assert _post(client, "/login/", analyst.username, PASSWORD).status_code == 302


def test_an_admin_unlocks_an_address(client, settings, analyst, admin_user):
    settings.DISCLOSURE_LOCKOUT_ADDRESS_FAILURES = 3
    for n in range(3):
        _post(client, "/login/", f"spray-{n}", "guess")
    client.force_login(admin_user)
    assert "Unlock 127.0.0.1" in client.get(reverse("staff:access_audit")).content.decode()
    client.post(reverse("staff:access_unlock"), {"address": "127.0.0.1"})
    client.logout()
    assert _post(client, "/login/", analyst.username, PASSWORD).status_code == 302


@pytest.mark.parametrize("who", ["analyst", "lead", "legal", "vendor_contact"])
def test_only_admins_unlock(client, request, who, analyst):
    _lock(client, analyst.username)
    client.force_login(request.getfixturevalue(who))
    response = client.post(reverse("staff:access_unlock"), {"username": analyst.username})
    assert response.status_code == 404
    assert not AccessEvent.objects.filter(kind="unlocked").exists()


def test_unlock_refuses_a_malformed_address(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("staff:access_unlock"), {"address": "not an ip"}, follow=True)
    assert "&#x27;not an ip&#x27; is not an IP address." in response.content.decode()
    assert not AccessEvent.objects.filter(kind="unlocked").exists()
