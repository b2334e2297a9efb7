"""Organizations and memberships."""

import pytest
from django.db import IntegrityError, transaction

from disclosure.accounts.models import Membership, Organization
from disclosure.accounts.selectors import actor_snapshot
from disclosure.accounts.services import add_membership, create_organization
from disclosure.core.errors import ValidationFailed
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_organization_names_are_unique_ignoring_case():
    create_organization(name="Contoso", kind="vendor", domain="Contoso.example")
    with pytest.raises(ValidationFailed, match="exists already"):
        create_organization(name=" contoso ", kind="vendor")
    with pytest.raises(IntegrityError), transaction.atomic():
        Organization.objects.create(name="CONTOSO", kind="vendor")  # the database holds it too


@pytest.mark.parametrize(("name", "kind"), [("", "vendor"), ("X", "government")])
def test_organization_needs_a_name_and_a_known_kind(name, kind):
    with pytest.raises(ValidationFailed):
        create_organization(name=name, kind=kind)
    assert not Organization.objects.exists()


@pytest.mark.parametrize(
    "name",
    [
        "Con\u200btoso",  # zero-width space
        "Con\u200ctoso",  # zero-width non-joiner
        "Con\u200dtoso",  # zero-width joiner
        "\ufeffContoso",  # byte-order mark
        "Conto\u00adso",  # soft hyphen
        "Contoso \u202eLtd",  # right-to-left override
        "\u2066Contoso\u2069",  # left-to-right isolate
        "Con\u200etoso",  # left-to-right mark
        "Contoso\nLtd",
        "Contoso\u2028Ltd",  # line separator
        "Contoso\x7f",
    ],
)
def test_organization_names_refuse_invisible_and_direction_characters(name):
    """``Con\\u200btoso`` looked exactly like Contoso beside it (finding 15.14)."""
    create_organization(name="Contoso", kind="vendor")
    with pytest.raises(ValidationFailed, match=r"invisible|control") as exc:
        create_organization(name=name, kind="vendor")
    assert exc.value.field == "name"
    assert list(Organization.objects.values_list("name", flat=True)) == ["Contoso"]


def test_organization_names_are_normalised_before_they_are_compared():
    create_organization(name="Contoso", kind="vendor")
    with pytest.raises(ValidationFailed, match="exists already"):
        create_organization(name="\uff23ontoso", kind="vendor")  # fullwidth C
    org = create_organization(name="Fabrikam   Holdings  Ltd", kind="vendor")
    assert org.name == "Fabrikam Holdings Ltd"
    assert create_organization(name="Ma\u0308kinen Oy", kind="vendor").name == "M\u00e4kinen Oy"


@pytest.mark.parametrize(
    ("kind", "role", "ok"),
    [
        ("vendor", "vendor_contact", True),
        ("vendor", "analyst", False),
        ("firm", "lead", True),
        ("firm", "vendor_contact", False),
        ("firm", "overlord", False),
    ],
)
def test_role_must_fit_the_organization(kind, role, ok):
    org = create_organization(name=f"Org {kind}", kind=kind)
    user = UserFactory()
    if ok:
        assert add_membership(user=user, organization=org, role=role).role == role
    else:
        with pytest.raises(ValidationFailed):
            add_membership(user=user, organization=org, role=role)
        assert not Membership.objects.filter(user=user).exists()


def test_database_refuses_a_role_that_does_not_fit():
    org = create_organization(name="Contoso", kind="vendor")
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(user=UserFactory(), organization=org, role="admin")


def test_actor_snapshot_names_person_role_and_organization(analyst, vendor_contact):
    assert actor_snapshot(analyst) | {"id": None} == {
        "id": None,
        "username": analyst.username,
        "name": analyst.get_full_name(),
        "organization": "Research Firm",
        "role": "analyst",
    }
    assert actor_snapshot(vendor_contact)["role"] == "vendor_contact"
    assert actor_snapshot(None)["role"] == "system"
