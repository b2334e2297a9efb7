"""The staff UI's API tokens page: staff create (secret shown once) and
revoke their own tokens; admins see and revoke everyone's; vendor contacts
and the anonymous never reach it."""

import pytest

from disclosure.tokens import services
from disclosure.tokens.models import ApiToken

pytestmark = pytest.mark.django_db

URL = "/tokens/"


def test_create_shows_the_secret_once(client, analyst):
    client.force_login(analyst)
    r = client.post(URL, {"name": "bucket scanner", "scope": "read_write", "days": "30"})
    assert r.status_code == 200
    token = ApiToken.objects.get()
    secret = r.context["secret"]
    assert services.authenticate(secret).pk == token.pk
    assert secret in r.content.decode()
    assert r["Cache-Control"].startswith("max-age=0")
    again = client.get(URL).content.decode()
    assert secret not in again and "bucket scanner" in again and token.prefix in again


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "", "scope": "read", "days": "30"}, "required"),
        ({"name": "x", "scope": "root", "days": "30"}, "valid choice"),
        ({"name": "x", "scope": "read", "days": "400"}, "less than or equal"),
    ],
)
def test_bad_input_is_a_form_error(client, analyst, data, error):
    client.force_login(analyst)
    r = client.post(URL, data)
    assert r.status_code == 400 and error in r.content.decode()
    assert not ApiToken.objects.exists()


def test_a_duplicate_name_is_a_form_error(client, analyst):
    services.create_token(user=analyst, name="ci")
    client.force_login(analyst)
    r = client.post(URL, {"name": "ci", "scope": "read", "days": "30"})
    assert r.status_code == 400 and "already" in r.content.decode()
    assert ApiToken.objects.count() == 1


def test_staff_see_and_revoke_their_own_only(client, analyst, lead):
    mine = services.create_token(user=analyst, name="mine").token
    theirs = services.create_token(user=lead, name="theirs").token
    client.force_login(analyst)
    page = client.get(URL).content.decode()
    assert "mine" in page and "theirs" not in page
    assert client.post(f"/tokens/{theirs.pk}/revoke/").status_code == 404
    r = client.post(f"/tokens/{mine.pk}/revoke/", follow=True)
    assert "revoked" in r.content.decode()
    assert ApiToken.objects.get(pk=mine.pk).revoked_at is not None
    assert ApiToken.objects.get(pk=theirs.pk).revoked_at is None
    assert client.get(f"/tokens/{mine.pk}/revoke/").status_code == 405


def test_admins_see_and_revoke_everyones(client, admin_user, analyst, vendor_contact):
    a = services.create_token(user=analyst, name="analyst token").token
    services.create_token(user=vendor_contact, name="vendor token")
    client.force_login(admin_user)
    page = client.get(URL).content.decode()
    assert "analyst token" in page and "vendor token" in page
    assert analyst.username in page
    client.post(f"/tokens/{a.pk}/revoke/")
    assert ApiToken.objects.get(pk=a.pk).revoked_by == admin_user


def test_the_page_is_for_staff_only(client, vendor_contact):
    assert client.get(URL).status_code == 302  # to sign in
    client.force_login(vendor_contact)
    assert client.get(URL).status_code == 404


def test_the_nav_links_to_the_page(client, legal):
    client.force_login(legal)
    assert 'href="/tokens/"' in client.get("/").content.decode()


def test_list_query_count(client, admin_user, analyst, django_assert_max_num_queries):
    for i in range(5):
        services.create_token(user=analyst, name=f"t{i}")
    client.force_login(admin_user)
    client.get(URL)
    with django_assert_max_num_queries(8):
        r = client.get(URL)
    assert r.content.decode().count("Revoke</button>") == 5
