"""Vendor organizations created and edited by leads and admins
(accounts.vendors; issue 16, item 7), audited in OrganizationChange."""

import pytest

from disclosure.accounts import vendors
from disclosure.accounts.models import Organization, OrganizationChange
from disclosure.core.errors import NotPermitted, ValidationFailed

pytestmark = pytest.mark.django_db


def test_a_lead_creates_a_vendor_with_its_domains_contacts_and_zone(lead):
    org = vendors.create_vendor(
        actor=lead, name=" Contoso Ltd ", domains=["Contoso.com", "contoso.co.uk", "contoso.com"],
        security_contacts=["Security@Contoso.com"], time_zone="Europe/London",
    )  # fmt: skip
    org.refresh_from_db()
    assert (org.name, org.kind, org.domain) == ("Contoso Ltd", "vendor", "contoso.com")
    assert org.domains == ["contoso.com", "contoso.co.uk"]
    assert org.security_contacts == ["security@contoso.com"]
    assert org.time_zone == "Europe/London"
    change = OrganizationChange.objects.get(organization=org)
    assert (change.kind, change.actor) == ("created", lead)
    assert change.changes["domains"] == {"from": None, "to": ["contoso.com", "contoso.co.uk"]}


@pytest.mark.parametrize("fixture", ["analyst", "legal", "vendor_contact", "outsider"])
def test_only_leads_and_admins_create_vendors(fixture, request):
    with pytest.raises(NotPermitted):
        vendors.create_vendor(actor=request.getfixturevalue(fixture), name="Fabrikam")
    assert not Organization.objects.filter(name="Fabrikam").exists()


@pytest.mark.parametrize(
    ("values", "field", "named"),
    [
        ({"domains": ["ok.com", "not a domain", "-bad.com"]}, "domains",
         "'not a domain', '-bad.com'"),
        ({"security_contacts": ["a@b.com", "nope", "x@"]}, "security_contacts", "'nope', 'x@'"),
        ({"time_zone": "Mars/Olympus"}, "time_zone", "'Mars/Olympus'"),
        ({"name": "contoso"}, "name", "'contoso'"),
        ({"name": "  "}, "name", "name"),
    ],
)  # fmt: skip
def test_bad_values_are_refused_naming_every_one(admin_user, vendor, values, field, named):
    with pytest.raises(ValidationFailed) as e:
        vendors.create_vendor(actor=admin_user, **{"name": "New one", **values})
    assert e.value.field == field and named in e.value.message
    assert Organization.objects.filter(kind="vendor").count() == 1  # Contoso only


def test_an_edit_changes_only_what_is_given_and_audits_the_difference(lead, vendor):
    vendors.update_vendor(actor=lead, organization=vendor,
                          changes={"security_contacts": ["psirt@contoso.example"]})  # fmt: skip
    vendor.refresh_from_db()
    assert vendor.name == "Contoso" and vendor.security_contacts == ["psirt@contoso.example"]
    change = OrganizationChange.objects.get(organization=vendor)
    assert change.changes == {"security_contacts": {"from": [], "to": ["psirt@contoso.example"]}}
    vendors.update_vendor(actor=lead, organization=vendor, changes={"name": "Contoso"})
    assert OrganizationChange.objects.filter(organization=vendor).count() == 1  # no change
    with pytest.raises(NotPermitted):
        vendors.update_vendor(actor=lead.__class__.objects.create(username="nobody"),
                              organization=vendor, changes={"name": "X"})  # fmt: skip
