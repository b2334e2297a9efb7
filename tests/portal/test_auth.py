"""The portal and the staff UI keep separate sign-ins: contacts sign in to
the portal only, staff to the staff UI only."""

from django.urls import reverse


def _login(client, url, user):
    return client.post(url, {"username": user.username, "password": "pw-for-tests-1"})


def test_a_contact_signs_in_to_the_portal(client, vendor_contact):
    response = _login(client, reverse("portal:login"), vendor_contact)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:case_list")
    assert client.get(reverse("portal:case_list")).status_code == 200


def test_staff_cannot_sign_in_to_the_portal(client, analyst):
    response = _login(client, reverse("portal:login"), analyst)
    assert response.status_code == 200
    # The same answer as a wrong password (issue 20).
    assert "Please enter a correct username and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_contact_cannot_sign_in_to_the_staff_ui(client, vendor_contact):
    response = _login(client, reverse("staff:login"), vendor_contact)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_signed_in_staff_member_does_not_open_the_portal_as_a_vendor(client, analyst, vendor):
    from tests.factories import MembershipFactory

    MembershipFactory(user=analyst, organization=vendor, role="vendor_contact")
    client.force_login(analyst)
    assert client.get(reverse("portal:case_list")).status_code == 404
    page = client.get(reverse("portal:login")).content.decode()
    assert "not a vendor contact" in page


def test_a_signed_in_contact_skips_the_login_page(client, vendor_contact):
    client.force_login(vendor_contact)
    response = client.get(reverse("portal:login"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:case_list")


def test_the_next_parameter_is_kept(client, vendor_contact, notified_case):
    url = reverse("portal:case_detail", args=[notified_case.reference])
    redirect = client.get(url)
    assert redirect["Location"] == f"{reverse('portal:login')}?next={url}"
    response = client.post(
        redirect["Location"],
        {"username": vendor_contact.username, "password": "pw-for-tests-1", "next": url},
    )
    assert response["Location"] == url


def test_an_offsite_next_is_ignored(client, vendor_contact):
    response = client.post(
        reverse("portal:login"),
        {"username": vendor_contact.username, "password": "pw-for-tests-1",
         "next": "https://evil.example/"},
    )  # fmt: skip
    assert response["Location"] == reverse("portal:case_list")


def test_logout_returns_to_the_portal_sign_in(client, vendor_contact):
    client.force_login(vendor_contact)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:login")
    assert client.get(reverse("portal:case_list")).status_code == 302
