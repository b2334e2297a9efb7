"""Password reset by mail, password change, and the sessions each user sees
and ends (issue 20)."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from disclosure.accounts.models import AccessEvent, UserSession
from tests.accounts.signin_helpers import PASSWORD

pytestmark = pytest.mark.django_db


def _sign_in(client, user, url="/login/", password=PASSWORD):
    return client.post(url, {"username": user.username, "password": password})


@pytest.mark.parametrize("who,prefix", [("analyst", ""), ("vendor_contact", "/portal")])
def test_a_reset_link_by_mail_sets_a_new_password(
    client, request, who, prefix, django_capture_on_commit_callbacks
):
    user = request.getfixturevalue(who)
    user.email = "someone@example.org"
    user.save()
    elsewhere = type(client)()
    _sign_in(elsewhere, user, url=f"{prefix}/login/")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{prefix}/password-reset/", {"email": "SOMEONE@example.org"})
    assert response.status_code == 200
    assert "If an account has that address" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["someone@example.org"]
    link = re.search(r"http://testserver(\S+)", mail.outbox[0].body).group(1)
    assert link.startswith(f"{prefix}/password-reset/")
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.content.decode()
    new = "A-new-one-2026!"
    done = client.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    assert done.status_code == 302 and done["Location"] == f"{prefix}/login/"
    assert _sign_in(client, user, url=f"{prefix}/login/").status_code == 200  # old one refused
    assert (
        _sign_in(client, user, url=f"{prefix}/login/", password="A-new-one-2026!").status_code
        == 302
    )
    # The link works once; the session elsewhere has ended.
    assert "This link does not work" in client.get(link, follow=True).content.decode()
    assert elsewhere.get(f"{prefix}/").status_code == 302
    assert AccessEvent.objects.filter(kind="password_reset", user=user).count() == 1


def test_the_reset_mail_leaves_no_usable_link_in_the_database(client, analyst):
    from disclosure.comms.models import OutboxMessage

    analyst.email = "a@example.org"
    analyst.save()
    client.post("/password-reset/", {"email": "a@example.org"})
    row = OutboxMessage.objects.get()
    assert row.purpose == "invitation"  # the outbox's secret purpose: erased once sent
    assert b"password-reset/" in bytes(row.raw)  # until sent; then erased:
    from disclosure.comms import outbox

    outbox.deliver(row.pk)
    row.refresh_from_db()
    assert b"password-reset/" not in bytes(row.raw or b"")


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client):
    mail.outbox.clear()
    response = client.post("/password-reset/", {"email": "nobody@example.org"})
    assert "If an account has that address" in response.content.decode()
    assert mail.outbox == []
    event = AccessEvent.objects.get(kind="password_reset_asked")
    assert (event.username, event.detail) == ("nobody@example.org", {"accounts": 0})


def test_a_malformed_address_is_a_form_error(client):
    response = client.post("/password-reset/", {"email": "not an address"})
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()


def test_a_user_sees_their_sessions_and_ends_another(client, analyst):
    other = type(client)()
    _sign_in(client, analyst)
    _sign_in(other, analyst)
    page = client.get(reverse("staff:security"))
    assert page.status_code == 200
    rows = UserSession.objects.filter(user=analyst)
    assert rows.count() == 2
    assert "(this one)" in page.content.decode()
    theirs = rows.get(session_key=other.session.session_key)
    response = client.post(reverse("staff:security_end_session", args=[theirs.pk]))
    assert response.status_code == 302
    assert other.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert AccessEvent.objects.filter(kind="session_ended", user=analyst).count() == 1


def test_another_users_session_cannot_be_ended(client, analyst, lead):
    other = type(client)()
    _sign_in(other, lead)
    theirs = UserSession.objects.get(user=lead)
    client.force_login(analyst)
    response = client.post(reverse("staff:security_end_session", args=[theirs.pk]), follow=True)
    assert "No such session." in response.content.decode()
    assert other.get("/").status_code == 200


def test_a_password_change_ends_the_other_sessions(client, vendor_contact):
    other = type(client)()
    _sign_in(client, vendor_contact, url="/portal/login/")
    _sign_in(other, vendor_contact, url="/portal/login/")
    response = client.post(reverse("portal:password_change"), {
        "old_password": PASSWORD, "new_password1": "Fresh-pass-2026!",
        "new_password2": "Fresh-pass-2026!",
    })  # fmt: skip
    assert response.status_code == 302
    assert client.get("/portal/").status_code == 200
    assert other.get("/portal/").status_code == 302
    event = AccessEvent.objects.get(kind="password_changed")
    assert event.detail == {"sessions_ended": 1}


@pytest.mark.parametrize(
    "who,status",
    [("anonymous", 302), ("vendor_contact", 404), ("outsider", 404), ("analyst", 200)],
)
def test_the_staff_security_page_access(client, request, who, status):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("staff:security")).status_code == status


@pytest.mark.parametrize(
    "who,status",
    [("anonymous", 302), ("analyst", 404), ("outsider", 404), ("vendor_contact", 200)],
)
def test_the_portal_security_page_access(client, request, who, status):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("portal:security")).status_code == status
