"""A vendor contact's mail settings in the portal: who may use the page."""

from django.urls import reverse

SETTINGS_URL = "/portal/settings/mail/"


def test_the_url_is_where_the_navigation_links_it(client, vendor_contact):
    assert reverse("portal:mail_settings") == SETTINGS_URL
    client.force_login(vendor_contact)
    assert f'href="{SETTINGS_URL}"' in client.get("/portal/").content.decode()


def test_a_contact_chooses_the_daily_digest(client, vendor_contact):
    client.force_login(vendor_contact)
    page = client.get(SETTINGS_URL)
    assert page.status_code == 200
    assert "A daily digest" in page.content.decode()

    response = client.post(SETTINGS_URL, {"mail_delivery": "digest"})

    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    vendor_contact.refresh_from_db()
    assert vendor_contact.mail_delivery == "digest"
    client.post(SETTINGS_URL, {"mail_delivery": "immediate"})
    vendor_contact.refresh_from_db()
    assert vendor_contact.mail_delivery == "immediate"


def test_an_unknown_choice_is_a_form_error(client, vendor_contact):
    client.force_login(vendor_contact)
    response = client.post(SETTINGS_URL, {"mail_delivery": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_anonymous_users_sign_in_and_staff_get_404(client, analyst):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    client.force_login(analyst)
    assert client.get(SETTINGS_URL).status_code == 404
    assert client.post(SETTINGS_URL, {"mail_delivery": "digest"}).status_code == 404
    analyst.refresh_from_db()
    assert analyst.mail_delivery == "immediate"


def test_a_deactivated_contact_is_signed_out(client, deactivated_contact):
    client.force_login(deactivated_contact)
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302
