"""GET /api/v1/me/ (the caller, their role and organization) and GET
/api/v1/staff/ (the firm's staff directory, staff only): issue 14, so that
``performed_by`` and ``verified_by`` can be chosen without reading another
event's actor."""

import pytest

from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

ME = {"anonymous": 401, "outsider": 200, "other_vendor_contact": 200, "vendor_contact": 200,
      "analyst": 200}  # fmt: skip
STAFF = {"anonymous": 401, "outsider": 403, "other_vendor_contact": 403, "vendor_contact": 403,
         "analyst": 200}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(ME))
def test_who_may_read_me_and_the_directory(request, actor, api, as_):
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    assert client.get("/api/v1/me/").status_code == ME[actor]
    assert client.get("/api/v1/staff/").status_code == STAFF[actor]


def test_me_for_staff_names_the_firm_and_role(as_, firm, lead):
    r = as_(lead).get("/api/v1/me/").json()
    assert r == {
        "id": lead.pk,
        "username": lead.username,
        "name": lead.get_full_name(),
        "email": f"{lead.username}@example.test",
        "role": "lead",
        "staff": True,
        "organization": {"id": firm.pk, "name": "Research Firm", "kind": "firm"},
        "organizations": [{"id": firm.pk, "name": "Research Firm", "kind": "firm"}],
    }


def test_me_for_a_vendor_contact(as_, vendor, other_vendor, vendor_contact):
    r = as_(vendor_contact).get("/api/v1/me/").json()
    assert (r["role"], r["staff"]) == ("vendor_contact", False)
    assert r["organization"] == {"id": vendor.pk, "name": "Contoso", "kind": "vendor"}
    # a contact of two vendors has no single organization
    MembershipFactory(user=vendor_contact, organization=other_vendor, role="vendor_contact")
    r = as_(vendor_contact).get("/api/v1/me/").json()
    assert r["organization"] is None
    assert [o["name"] for o in r["organizations"]] == ["Contoso", "Fabrikam"]


def test_me_for_an_outsider_has_no_role(as_, outsider):
    r = as_(outsider).get("/api/v1/me/").json()
    assert (r["role"], r["staff"], r["organization"], r["organizations"]) == (None, False, None, [])


def test_staff_directory_lists_active_staff_once_with_their_highest_role(
    as_, firm, vendor, analyst, lead, legal, vendor_contact, django_assert_max_num_queries
):
    MembershipFactory(user=UserFactory(username="zz-gone", is_active=False), organization=firm,
                      role="analyst")  # fmt: skip
    client = as_(analyst)
    client.get("/api/v1/me/")  # the token's first use is recorded once
    with django_assert_max_num_queries(2):  # token and memberships, the directory
        r = client.get("/api/v1/staff/")
    rows = r.json()
    expected = sorted([(analyst.username, "analyst"), (lead.username, "lead"),
                       (legal.username, "legal")])  # fmt: skip
    assert [(s["username"], s["role"]) for s in rows] == expected
    by_name = {s["username"]: s for s in rows}
    assert by_name[lead.username]["id"] == lead.pk
    assert by_name[lead.username]["name"] == lead.get_full_name()


def test_a_directory_id_is_accepted_as_verified_by(as_, analyst, lead, case_at):
    case = case_at("secured")
    staff = {s["username"]: s["id"] for s in as_(analyst).get("/api/v1/staff/").json()}
    body = {
        "items": [{"path": "dump.tar", "bytes": 10, "sha256": "a" * 64}],
        "method": "clear",
        "tool": "shred",
        "performed_by": staff[analyst.username],
        "performed_at": case.secured_at.isoformat(),
        "verification": "checked",
        "verified_by": staff[lead.username],
    }
    r = as_(analyst).post(
        f"/api/v1/cases/{case.reference}/actions/record_deletion/", body, format="json"
    )
    assert r.status_code == 201, r.json()
