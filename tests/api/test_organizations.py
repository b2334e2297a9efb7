"""Organizations over the API (issue 16, item 7): staff read; leads and
admins create vendors (POST, answered 405 before) and edit them (PATCH)."""

import pytest

from disclosure.accounts.models import Organization

pytestmark = pytest.mark.django_db

CREATE = {
    "anonymous": 401,
    "other_vendor_contact": 403,
    "vendor_contact": 403,
    "analyst": 403,
    "legal": 403,
    "lead": 201,
    "admin_user": 201,
}


@pytest.mark.parametrize("actor", sorted(CREATE))
def test_who_may_create_and_edit_a_vendor(request, actor, api, as_, vendor, other_vendor):
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    body = {
        "name": "Northwind",
        "domains": ["northwind.example"],
        "security_contacts": ["security@northwind.example"],
        "time_zone": "Europe/Berlin",
    }
    r = client.post("/api/v1/organizations/", body, format="json")
    assert r.status_code == CREATE[actor], r.json()
    r = client.patch(
        f"/api/v1/organizations/{vendor.pk}/", {"time_zone": "Asia/Tokyo"}, format="json"
    )
    assert r.status_code == (200 if CREATE[actor] == 201 else CREATE[actor])
    vendor.refresh_from_db()
    assert vendor.time_zone == ("Asia/Tokyo" if CREATE[actor] == 201 else "UTC")


def test_created_vendor_as_the_api_shows_it(as_, lead):
    r = as_(lead).post(
        "/api/v1/organizations/",
        {
            "name": "Northwind",
            "domains": ["Northwind.example", "nw.example"],
            "security_contacts": ["psirt@northwind.example"],
        },
        format="json",
    )
    org = Organization.objects.get(name="Northwind")
    assert r.json() == {
        "id": org.pk,
        "name": "Northwind",
        "kind": "vendor",
        "domain": "northwind.example",
        "domains": ["northwind.example", "nw.example"],
        "security_contacts": ["psirt@northwind.example"],
        "time_zone": "UTC",
        "mail_includes_content": False,
    }
    bad = as_(lead).patch(
        f"/api/v1/organizations/{org.pk}/",
        {"security_contacts": ["nope", "also bad"]},
        format="json",
    )
    assert (bad.status_code, bad.json()["field"]) == (400, "security_contacts")
    assert "'nope', 'also bad'" in bad.json()["message"]


def test_the_firm_is_not_edited_here(as_, lead, firm):
    r = as_(lead).patch(f"/api/v1/organizations/{firm.pk}/", {"name": "X"}, format="json")
    assert r.status_code == 404
