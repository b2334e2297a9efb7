"""Accounts rules that access rests on:

- an organization's kind is fixed once it has members (switching the firm to
  "vendor" would turn every staff member into a vendor contact);
- there is exactly one firm organization (any firm grants staff rights);
- the actor snapshot names the organization that acts on the case.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from disclosure.accounts.models import Membership, Organization
from disclosure.accounts.selectors import actor_snapshot
from disclosure.accounts.services import add_membership, create_organization
from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from tests.factories import UserFactory, VendorFactory, make_case

pytestmark = pytest.mark.django_db


# --- kind is fixed once members exist ---------------------------------------


def test_kind_cannot_change_once_the_organization_has_members(firm, analyst):
    firm.kind = Organization.Kind.VENDOR
    with pytest.raises(ValidationFailed, match="members") as exc:
        firm.save()
    assert exc.value.field == "kind"
    firm.refresh_from_db()
    assert firm.kind == "firm"
    assert Membership.objects.get(user=analyst).organization_kind == "firm"


def test_kind_change_is_a_form_error_in_clean(vendor, vendor_contact):
    vendor.kind = Organization.Kind.FIRM
    with pytest.raises(ValidationError) as exc:
        vendor.full_clean()
    assert "kind" in exc.value.message_dict


def test_kind_may_change_while_there_are_no_members():
    org = create_organization(name="Typo Corp", kind="vendor")
    org.kind = Organization.Kind.FIRM
    org.full_clean()
    org.save()
    org.refresh_from_db()
    assert org.kind == "firm"


def test_other_fields_stay_editable_with_members(vendor, vendor_contact):
    vendor.domain = "contoso.example"
    vendor.full_clean()
    vendor.save()
    vendor.refresh_from_db()
    assert vendor.domain == "contoso.example"


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _org_form(org, **changes) -> dict:
    return {
        "name": org.name,
        "kind": org.kind,
        "domain": org.domain,
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
        **changes,
    }


def test_admin_shows_kind_read_only_once_there_are_members(admin_client, vendor, vendor_contact):
    page = admin_client.get(f"/admin/accounts/organization/{vendor.pk}/change/")
    assert page.status_code == 200
    assert 'name="kind"' not in page.content.decode()
    admin_client.post(
        f"/admin/accounts/organization/{vendor.pk}/change/", _org_form(vendor, kind="firm")
    )
    vendor.refresh_from_db()
    assert vendor.kind == "vendor"
    assert Membership.objects.get(user=vendor_contact).organization_kind == "vendor"


def test_admin_lets_kind_be_set_while_there_are_no_members(admin_client, firm):
    empty = create_organization(name="Empty Vendor", kind="vendor")
    page = admin_client.get(f"/admin/accounts/organization/{empty.pk}/change/")
    assert 'name="kind"' in page.content.decode()
    add = admin_client.get("/admin/accounts/organization/add/")
    assert 'name="kind"' in add.content.decode()


# --- exactly one firm -----------------------------------------------------------


def test_a_second_firm_is_refused_by_the_service(firm):
    with pytest.raises(ValidationFailed, match="one research firm") as exc:
        create_organization(name="Shadow Firm", kind="firm")
    assert exc.value.field == "kind"
    assert list(Organization.objects.filter(kind="firm")) == [firm]


def test_a_second_firm_is_refused_by_the_database(firm):
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(name="Shadow Firm", kind="firm")


def test_a_vendor_cannot_become_a_second_firm(firm):
    org = create_organization(name="Sneaky", kind="vendor")
    org.kind = Organization.Kind.FIRM
    with pytest.raises(ValidationError) as exc:
        org.full_clean()
    assert "kind" in exc.value.message_dict
    with pytest.raises(IntegrityError), transaction.atomic():
        org.save()


def test_the_first_firm_is_created_and_vendors_are_many():
    firm = create_organization(name="Research Firm", kind="firm")
    create_organization(name="Contoso", kind="vendor")
    create_organization(name="Fabrikam", kind="vendor")
    assert firm.kind == "firm"
    assert Organization.objects.filter(kind="vendor").count() == 2


# --- actor snapshot -------------------------------------------------------------


@pytest.fixture
def two_vendor_contact(vendor, other_vendor):
    """A liaison who works for both vendors (an outsourced security desk)."""
    user = UserFactory(first_name="Sam", last_name="Desk")
    add_membership(user=user, organization=other_vendor, role="vendor_contact")
    add_membership(user=user, organization=vendor, role="vendor_contact")
    return user


def test_snapshot_names_the_cases_vendor_for_a_contact_of_several(
    two_vendor_contact, lead, vendor, other_vendor
):
    ours = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    theirs = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=other_vendor)
    assert actor_snapshot(two_vendor_contact, case=ours)["organization"] == "Contoso"
    assert actor_snapshot(two_vendor_contact, case=theirs)["organization"] == "Fabrikam"
    assert actor_snapshot(two_vendor_contact, case=ours)["role"] == "vendor_contact"


def test_snapshot_of_staff_names_the_firm_on_any_case(analyst, lead, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    assert actor_snapshot(analyst, case=case) | {"id": None} == {
        "id": None,
        "username": analyst.username,
        "name": analyst.get_full_name(),
        "organization": "Research Firm",
        "role": "analyst",
    }


def test_snapshot_without_a_case_names_no_arbitrary_vendor(two_vendor_contact, vendor_contact):
    assert actor_snapshot(two_vendor_contact)["organization"] is None
    assert actor_snapshot(vendor_contact)["organization"] == "Contoso"


def test_ledger_event_names_the_vendor_acting_on_the_case(
    two_vendor_contact, lead, vendor, other_vendor
):
    for org, name in ((vendor, "Contoso"), (other_vendor, "Fabrikam")):
        case = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=org)
        services.acknowledge(
            actor=two_vendor_contact, case=case, occurred_at=now() - timedelta(minutes=1)
        )
        event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
        assert event.actor_id == two_vendor_contact.pk
        assert event.actor_snapshot["organization"] == name
        assert event.actor_snapshot["role"] == "vendor_contact"


def test_vendor_factory_still_makes_many_vendors():
    assert VendorFactory().kind == VendorFactory().kind == "vendor"


# --- a vendor contact is never superuser or staff (issue 15, finding 12) -----


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_a_vendor_contact_cannot_be_saved_as_superuser_or_staff(vendor_contact, flag):
    setattr(vendor_contact, flag, True)
    with pytest.raises(ValidationFailed) as caught:
        vendor_contact.save()
    assert caught.value.field == flag
    vendor_contact.refresh_from_db()
    assert not vendor_contact.is_superuser and not vendor_contact.is_staff
    # The admin's form gets it as a field error.
    setattr(vendor_contact, flag, True)
    with pytest.raises(ValidationError) as form_error:
        vendor_contact.full_clean()
    assert flag in form_error.value.message_dict


@pytest.mark.parametrize("flag", ["is_superuser", "is_staff"])
def test_a_superuser_or_staff_account_cannot_become_a_vendor_contact(vendor, flag):
    user = UserFactory(**{flag: True})
    with pytest.raises(ValidationFailed) as caught:
        add_membership(user=user, organization=vendor, role="vendor_contact")
    assert caught.value.field == "user"
    assert not Membership.objects.filter(user=user).exists()
    with pytest.raises(ValidationError):
        Membership(user=user, organization=vendor, role="vendor_contact").full_clean()


def test_staff_and_members_of_nothing_keep_their_flags(admin_user, firm):
    admin_user.is_superuser = True
    admin_user.save()  # a firm admin may be superuser
    root = UserFactory(is_superuser=True, is_staff=True)  # installation owner, no membership
    assert root.is_superuser and root.is_staff
    add_membership(user=root, organization=firm, role="admin")
