"""A vendor's ``mail_includes_content`` (whether notices to its contacts may
quote the case's content): set by leads and admins in the service, the staff
form and the API, and audited in OrganizationChange."""

import pytest

from disclosure.accounts import vendors
from disclosure.accounts.models import Organization, OrganizationChange
from disclosure.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


def test_off_by_default_and_audited_when_created(lead):
    org = vendors.create_vendor(actor=lead, name="Northwind")
    assert org.mail_includes_content is False
    change = OrganizationChange.objects.get(organization=org)
    assert change.changes["mail_includes_content"] == {"from": None, "to": False}


def test_an_edit_is_audited_with_before_and_after(lead, vendor):
    vendors.update_vendor(actor=lead, organization=vendor, changes={"mail_includes_content": True})
    vendor.refresh_from_db()
    assert vendor.mail_includes_content is True
    change = OrganizationChange.objects.get(organization=vendor)
    assert (change.kind, change.changes) == (
        "updated", {"mail_includes_content": {"from": False, "to": True}},
    )  # fmt: skip


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_only_true_or_false_is_taken(lead, vendor, value):
    with pytest.raises(ValidationFailed) as e:
        vendors.update_vendor(
            actor=lead, organization=vendor, changes={"mail_includes_content": value}
        )
    assert e.value.field == "mail_includes_content"
    assert not OrganizationChange.objects.filter(organization=vendor).exists()


def test_the_staff_form_sets_and_clears_it(client, lead, vendor):
    client.force_login(lead)
    form = client.get(f"/organizations/{vendor.pk}/edit/").content.decode()
    assert 'name="mail_includes_content"' in form
    base = {"name": "Contoso", "domains": "", "security_contacts": "", "time_zone": "UTC"}
    r = client.post(f"/organizations/{vendor.pk}/edit/", {**base, "mail_includes_content": "on"})
    assert r.status_code == 302
    vendor.refresh_from_db()
    assert vendor.mail_includes_content is True
    page = client.get(f"/organizations/{vendor.pk}/").content.decode()
    assert "Mail to its contacts may quote the case's content" in page
    client.post(f"/organizations/{vendor.pk}/edit/", base)  # an unticked box
    vendor.refresh_from_db()
    assert vendor.mail_includes_content is False
    changes = OrganizationChange.objects.filter(organization=vendor).order_by("id")
    assert [c.changes["mail_includes_content"]["to"] for c in changes] == [True, False]


def test_a_new_vendor_from_the_staff_form_may_allow_it(client, admin_user):
    client.force_login(admin_user)
    r = client.post("/organizations/new/", {
        "name": "Northwind", "domains": "", "security_contacts": "", "time_zone": "UTC",
        "mail_includes_content": "on",
    })  # fmt: skip
    assert r.status_code == 302
    assert Organization.objects.get(name="Northwind").mail_includes_content is True


@pytest.mark.parametrize(("actor", "status"), [("lead", 200), ("analyst", 403)])
def test_the_api_reads_and_sets_it(request, as_, vendor, actor, status):
    client = as_(request.getfixturevalue(actor))
    r = client.patch(
        f"/api/v1/organizations/{vendor.pk}/", {"mail_includes_content": True}, format="json"
    )
    assert r.status_code == status
    vendor.refresh_from_db()
    assert vendor.mail_includes_content is (status == 200)
    got = client.get(f"/api/v1/organizations/{vendor.pk}/").json()
    assert got["mail_includes_content"] is (status == 200)


def test_the_api_refuses_a_non_boolean(as_, lead, vendor):
    r = as_(lead).patch(
        f"/api/v1/organizations/{vendor.pk}/", {"mail_includes_content": "maybe"}, format="json"
    )
    assert r.status_code == 400
    vendor.refresh_from_db()
    assert vendor.mail_includes_content is False
