"""Signing in and out of the staff UI, and who may enter it at all."""

import pytest

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-1"


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.parametrize("role", ["analyst", "lead", "legal", "admin_user"])
def test_each_staff_role_signs_in_and_lands_on_the_dashboard(role, client, request):
    user = request.getfixturevalue(role)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert b"Cases per stage" in page.content


def test_a_vendor_contact_cannot_sign_in_here(client, vendor_contact):
    response = client.post("/login/", {"username": vendor_contact.username, "password": PASSWORD})
    assert response.status_code == 200
    # The same answer as a wrong password (issue 20): the page does not tell
    # that the password was right.
    assert b"Please enter a correct username and password" in response.content
    assert b"vendor contacts to the vendor portal" in response.content
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("who", ["vendor_contact", "outsider"])
def test_signed_in_non_staff_get_404_on_staff_pages(who, client, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get("/").status_code == 404


def test_wrong_password_is_refused_with_a_message(client, analyst):
    response = client.post("/login/", {"username": analyst.username, "password": "nope"})
    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content


def test_sign_out_is_a_post(client, analyst):
    client.force_login(analyst)
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_pages_load_only_vendored_assets(client, analyst):
    client.force_login(analyst)
    html = client.get("/").content.decode()
    assert "/static/vendor/pico/pico.min.css" in html
    assert "/static/vendor/htmx/htmx.min.js" in html
    assert "http://" not in html.replace("http://testserver", "")
    assert "https://" not in html


def test_dashboard_counts_cases_per_stage(client, analyst, vendor, django_assert_max_num_queries):
    from tests.factories import make_case

    make_case("found", actor=analyst, vendor=vendor)
    make_case("vendor_notified", actor=analyst, vendor=vendor, exposure_evidence=[_capture()])
    client.force_login(analyst)
    with django_assert_max_num_queries(12):  # the full dashboard: see test_dashboard.py
        page = client.get("/")
    per_stage = dict((v, n) for v, _, n in page.context["per_stage"])
    assert per_stage == {
        "found": 1, "vendor_notified": 1, "secured": 0, "data_deleted": 0,
        "published": 0, "closed": 0,
    }  # fmt: skip


def _capture():
    from tests.factories import capture

    return capture(b"another listing")
