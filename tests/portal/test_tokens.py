"""A contact manages their own API tokens in the portal (tokens services):
the secret is shown once; another user's token is 404 and stays active."""

import pytest
from django.urls import reverse

from disclosure.tokens import services
from disclosure.tokens.models import ApiToken


@pytest.fixture
def contact_client(client, vendor_contact):
    client.force_login(vendor_contact)
    return client


def test_create_shows_the_secret_once_and_it_authenticates(contact_client, vendor_contact):
    response = contact_client.post(
        reverse("portal:tokens"), {"name": "ticketing", "scope": "read", "days": 30}
    )
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret.startswith("dsc_") and secret in response.content.decode()
    assert services.authenticate(secret).user == vendor_contact
    again = contact_client.get(reverse("portal:tokens")).content.decode()
    assert "ticketing" in again and secret not in again


def test_bad_input_is_a_form_error(contact_client):
    response = contact_client.post(reverse("portal:tokens"), {"name": "", "days": 0})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_a_duplicate_name_is_a_form_error(contact_client, vendor_contact):
    services.create_token(user=vendor_contact, name="ci")
    response = contact_client.post(
        reverse("portal:tokens"), {"name": "ci", "scope": "read", "days": 30}
    )
    assert response.status_code == 400
    assert "already" in response.content.decode()


def test_revoke_own_token(contact_client, vendor_contact):
    issued = services.create_token(user=vendor_contact, name="ci")
    response = contact_client.post(reverse("portal:token_revoke", args=[issued.token.pk]))
    assert response.status_code == 302
    issued.token.refresh_from_db()
    assert issued.token.revoked_at is not None


def test_another_users_token_is_404_and_unchanged(contact_client, other_vendor_contact, analyst):
    for owner in (other_vendor_contact, analyst):
        issued = services.create_token(user=owner, name="theirs")
        response = contact_client.post(reverse("portal:token_revoke", args=[issued.token.pk]))
        assert response.status_code == 404
        issued.token.refresh_from_db()
        assert issued.token.revoked_at is None
    html = contact_client.get(reverse("portal:tokens")).content.decode()
    assert "theirs" not in html


@pytest.mark.parametrize("who,expected", [("anonymous", 302), ("staff", 404)])
def test_the_page_is_for_contacts_only(client, analyst, who, expected):
    if who == "staff":
        client.force_login(analyst)
    assert client.get(reverse("portal:tokens")).status_code == expected
