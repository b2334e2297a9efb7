"""The admin: for admin-role staff only; the ledger and its records read-only;
case edits go through the service and land in the ledger."""

import pytest

from disclosure.accounts.models import Organization
from disclosure.cases.stages import Stage
from disclosure.ledger.models import EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.mark.parametrize("role", ["analyst", "lead", "legal", "vendor_contact"])
def test_only_admins_get_in(request, client, role):
    user = request.getfixturevalue(role)
    # A vendor contact cannot be saved as staff (issue 15): its flag is
    # written behind the model's back, and still opens nothing.
    type(user).objects.filter(pk=user.pk).update(is_staff=True)
    user.refresh_from_db()
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/cases/case/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_admin_lists_cases_with_bounded_queries(
    admin_client, case, analyst, vendor, django_assert_max_num_queries
):
    for _ in range(3):
        make_case(actor=analyst, vendor=vendor)
    with django_assert_max_num_queries(12):
        response = admin_client.get("/admin/cases/case/")
    assert response.status_code == 200
    assert case.reference in response.content.decode()


def test_ledger_is_read_only(admin_client, case):
    event = case.events.first()
    listing = admin_client.get("/admin/ledger/caseevent/")
    assert listing.status_code == 200
    assert "/admin/ledger/caseevent/add/" not in listing.content.decode()
    page = admin_client.get(f"/admin/ledger/caseevent/{event.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    forged = admin_client.post(
        f"/admin/ledger/caseevent/{event.pk}/change/", {"kind": "correction", "payload": "{}"}
    )
    assert forged.status_code == 403
    assert (
        admin_client.post(
            f"/admin/ledger/caseevent/{event.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    assert admin_client.get("/admin/ledger/caseevent/add/").status_code == 403
    event.refresh_from_db()
    assert verify_case(case).ok


def test_cases_cannot_be_added_or_deleted_in_admin(admin_client, case):
    assert admin_client.get("/admin/cases/case/add/").status_code == 403
    assert (
        admin_client.post(f"/admin/cases/case/{case.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )


def _form_data(case, **changes):
    data = {
        "title": case.title,
        "summary": case.summary,
        "vendor": case.vendor_id,
        "asset_provider": case.asset_provider,
        "asset_kind": case.asset_kind,
        "asset_identifier": case.asset_identifier,
        "asset_region": case.asset_region,
        "how_found": case.how_found,
        "data_categories": "[]",
        "volume_bytes": "",
        "volume_objects": "",
        "records_by_kind": "{}",
        "data_from": "",
        "data_to": "",
        "affected_entity_count": "",
        "affected_country_count": "",
        "severity": case.severity,
        "tlp": case.tlp,
        "time_zone": case.time_zone,
        "policy": case.policy_id,
        "assignee": "",
    }
    data.update(changes)
    return data


def test_editing_a_case_in_admin_writes_a_ledger_event(admin_client, case):
    before = case.events.count()
    response = admin_client.post(
        f"/admin/cases/case/{case.pk}/change/",
        _form_data(case, title="Renamed exposure", severity="high"),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.title == "Renamed exposure" and case.severity == "high"
    # the title is shared with the vendor, the severity is the firm's own: two events
    shared, internal = case.events.order_by("seq")[before:]
    assert case.events.count() == before + 2
    assert (shared.kind, shared.internal) == (EventKind.DETAILS_UPDATED, False)
    assert shared.payload["changes"] == {
        "title": {"from": "Exposed bucket", "to": "Renamed exposure"}
    }
    assert (internal.kind, internal.internal) == (EventKind.DETAILS_UPDATED, True)
    assert set(internal.payload["changes"]) == {"severity"}
    assert internal.payload["changes"]["severity"]["to"] == "high"
    assert verify_case(case).ok


def test_invalid_admin_edit_is_a_form_error_and_changes_nothing(admin_client, case):
    before = case.events.count()
    response = admin_client.post(
        f"/admin/cases/case/{case.pk}/change/",
        _form_data(case, time_zone="Mars/Olympus", data_from="2022-05-01", data_to="2021-01-01"),
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Unknown time zone" in body or "ends before it starts" in body
    case.refresh_from_db()
    assert case.time_zone == "UTC" and case.events.count() == before


def test_stage_cannot_be_set_in_admin(admin_client, case):
    admin_client.post(
        f"/admin/cases/case/{case.pk}/change/",
        _form_data(case, stage="published", published_at="2026-01-01 00:00"),
    )
    case.refresh_from_db()
    assert case.stage == Stage.VENDOR_NOTIFIED and case.published_at is None


def test_membership_role_must_fit_the_organization(admin_client, vendor, analyst):
    response = admin_client.post(
        "/admin/accounts/membership/add/",
        {"user": analyst.pk, "organization": vendor.pk, "role": "lead"},
    )
    assert response.status_code == 200
    assert "Vendor organizations have vendor contacts" in response.content.decode()


def test_ledger_list_has_bounded_queries(
    admin_client, case, analyst, vendor, django_assert_max_num_queries
):
    for _ in range(3):
        make_case(Stage.PUBLISHED, actor=analyst, vendor=vendor)
    with django_assert_max_num_queries(10):
        response = admin_client.get("/admin/ledger/caseevent/")
    assert response.status_code == 200
    assert response.content.decode().count(case.reference) >= case.events.count()


def test_view_site_leads_to_the_staff_ui(admin_client):
    page = admin_client.get("/admin/").content.decode()
    assert '<a href="/">View site</a>' in page


def _add_organization(admin_client, name):
    return admin_client.post(
        "/admin/accounts/organization/add/",
        {
            "name": name,
            "kind": "vendor",
            "domain": "",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
    )


def test_admin_refuses_organization_names_with_invisible_characters(admin_client, vendor):
    """The admin writes organizations without the service: the model's
    clean() applies the same name rules (finding 15.14)."""
    response = _add_organization(admin_client, "Con\u200btoso Two")
    assert response.status_code == 200
    assert "invisible or control character" in response.content.decode()
    assert not Organization.objects.filter(name__startswith="Con\u200b").exists()


def test_admin_stores_organization_names_normalised(admin_client, vendor):
    response = _add_organization(admin_client, "  Northwind   Traders ")
    assert response.status_code == 302
    assert Organization.objects.filter(name="Northwind Traders").exists()


def test_a_new_vendor_with_a_superuser_member_is_a_form_error_not_a_500(admin_client, admin_user):
    """A new vendor organization and, in the same form, a superuser as its
    contact: refused on the inline's field, nothing saved (finding 15.12)."""
    response = admin_client.post(
        "/admin/accounts/organization/add/",
        {
            "name": "Tailspin Toys",
            "kind": "vendor",
            "domain": "",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-user": str(admin_user.pk),
            "memberships-0-role": "vendor_contact",
        },
    )
    assert response.status_code == 200
    assert "it cannot be a vendor contact" in response.content.decode()
    assert not Organization.objects.filter(name="Tailspin Toys").exists()
