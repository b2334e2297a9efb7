"""The staff UI's vendor organization pages: list, contacts, invite, re-send,
deactivate, history. Who may do what, written out by hand."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from disclosure.accounts import invitations
from disclosure.accounts.models import ContactEvent, Invitation, Membership
from tests.factories import MembershipFactory

TEMPLATE = "http://testserver/portal/invitation/{token}/"


def _list():
    return reverse("staff:organization_list")


def _detail(org):
    return reverse("staff:organization_detail", args=[org.pk])


@pytest.fixture
def actor(request, analyst, lead, legal, admin_user, vendor_contact, outsider):
    return {
        "anonymous": None, "analyst": analyst, "lead": lead, "legal": legal,
        "admin": admin_user, "vendor_contact": vendor_contact, "outsider": outsider,
    }[request.param]  # fmt: skip


# actor -> (list/detail page, invite/re-send/deactivate)
TABLE = {
    "anonymous": ("login", "login"),
    "analyst": (200, "ok"),
    "lead": (200, "ok"),
    "admin": (200, "ok"),
    "legal": (200, 403),
    "vendor_contact": (404, 404),
    "outsider": (404, 404),
}


@pytest.mark.parametrize("actor,expected", [(a, e) for a, e in TABLE.items()], indirect=["actor"])
def test_who_may_see_and_manage(client, actor, expected, vendor, vendor_contact):
    page, manage = expected
    if actor is not None:
        client.force_login(actor)
    for url in (_list(), _detail(vendor)):
        response = client.get(url)
        if page == "login":
            assert response.status_code == 302 and "/login/" in response["Location"]
        else:
            assert response.status_code == page
    invite_url = reverse("staff:organization_invite", args=[vendor.pk])
    response = client.post(invite_url, {"email": "new@contoso.example"})
    if manage == "login":
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif manage == "ok":
        assert response.status_code == 302
        assert response["Location"] == _detail(vendor)
    else:
        assert response.status_code == manage
    assert Invitation.objects.exists() == (manage == "ok")


def test_the_page_lists_contacts_invitations_and_history(
    client, analyst, lead, vendor, vendor_contact, other_vendor_contact
):
    invitations.invite_contact(
        actor=lead, organization=vendor, email="pending@contoso.example", link_template=TEMPLATE
    )
    client.force_login(analyst)
    html = client.get(_detail(vendor)).content.decode()
    assert vendor_contact.username in html
    assert other_vendor_contact.username not in html  # Fabrikam's
    assert "pending@contoso.example" in html
    assert "Invited" in html and lead.display_name() in html
    assert "Re-send" in html and "Deactivate" in html


def test_legal_reads_without_buttons(client, legal, vendor, vendor_contact):
    client.force_login(legal)
    html = client.get(_detail(vendor)).content.decode()
    assert vendor_contact.username in html
    assert "Deactivate" not in html and "Send invitation" not in html


def test_invite_from_the_page_mails_a_link(
    client, analyst, vendor, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("staff:organization_invite", args=[vendor.pk]), {"email": "x@contoso.example"}
        )
    assert response.status_code == 302
    assert re.search(r"http://testserver/portal/invitation/\S+/", mail.outbox[0].body)


def test_a_bad_address_is_a_form_error(client, analyst, vendor):
    client.force_login(analyst)
    response = client.post(
        reverse("staff:organization_invite", args=[vendor.pk]), {"email": analyst.email}
    )
    assert response.status_code == 400
    assert "research staff" in response.content.decode()
    assert not Invitation.objects.exists()


def test_resend_from_the_page_voids_the_old_link(client, analyst, vendor):
    sent = invitations.invite_contact(
        actor=analyst, organization=vendor, email="r@contoso.example", link_template=TEMPLATE
    )
    client.force_login(analyst)
    response = client.post(
        reverse("staff:organization_resend", args=[vendor.pk, sent.invitation.pk])
    )
    assert response.status_code == 302
    with pytest.raises(invitations.InvitationInvalid, match="replaced"):
        invitations.check_invitation(sent.token)
    assert ContactEvent.objects.filter(kind="reinvited", actor=analyst).count() == 1


def test_deactivate_from_the_page(client, analyst, vendor, vendor_contact):
    client.force_login(analyst)
    response = client.post(
        reverse("staff:organization_deactivate", args=[vendor.pk, vendor_contact.pk])
    )
    assert response.status_code == 302
    assert not Membership.objects.filter(user=vendor_contact).exists()
    html = client.get(_detail(vendor)).content.decode()
    assert "Deactivated" in html


def test_ids_of_another_vendor_are_404_and_change_nothing(
    client, analyst, vendor, other_vendor, other_vendor_contact
):
    sent = invitations.invite_contact(
        actor=analyst, organization=other_vendor, email="f@fabrikam.example",
        link_template=TEMPLATE,
    )  # fmt: skip
    client.force_login(analyst)
    assert (
        client.post(
            reverse("staff:organization_deactivate", args=[vendor.pk, other_vendor_contact.pk])
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("staff:organization_resend", args=[vendor.pk, sent.invitation.pk])
        ).status_code
        == 404
    )
    assert Membership.objects.filter(user=other_vendor_contact).exists()
    assert Invitation.objects.get(pk=sent.invitation.pk).revoked_at is None


def test_the_firm_has_no_organization_page(client, analyst, firm):
    client.force_login(analyst)
    assert client.get(_detail(firm)).status_code == 404


def test_get_is_not_a_change(client, analyst, vendor, vendor_contact):
    client.force_login(analyst)
    url = reverse("staff:organization_deactivate", args=[vendor.pk, vendor_contact.pk])
    assert client.get(url).status_code == 405
    assert Membership.objects.filter(user=vendor_contact).exists()


def test_the_list_pins_its_queries(
    client, analyst, vendor, other_vendor, django_assert_max_num_queries
):
    client.force_login(analyst)
    with django_assert_max_num_queries(6):
        html = client.get(_list()).content.decode()
    assert "Contoso" in html and "Fabrikam" in html


def test_the_detail_page_pins_its_queries(client, analyst, vendor, django_assert_max_num_queries):
    for i in range(4):
        MembershipFactory(organization=vendor, role="vendor_contact")
        invitations.invite_contact(
            actor=analyst, organization=vendor, email=f"p{i}@contoso.example",
            link_template=TEMPLATE,
        )  # fmt: skip
    client.force_login(analyst)
    with django_assert_max_num_queries(8):  # 7 measured
        assert client.get(_detail(vendor)).status_code == 200


def test_the_admin_lists_invitations_and_history_read_only(client, admin_user, analyst, vendor):
    invitations.invite_contact(
        actor=analyst, organization=vendor, email="a@contoso.example", link_template=TEMPLATE
    )
    client.force_login(admin_user)
    for name in ("invitation", "contactevent"):
        page = client.get(f"/admin/accounts/{name}/")
        assert page.status_code == 200
        assert "a@contoso.example" in page.content.decode()
    invitation = Invitation.objects.get()
    page = client.get(f"/admin/accounts/invitation/{invitation.pk}/change/").content.decode()
    assert invitation.token_sha256 not in page
    assert client.get("/admin/accounts/invitation/add/").status_code == 403


# --- creating and editing vendors (issue 16, item 7) --------------------------


def test_a_lead_creates_and_edits_a_vendor_in_the_staff_ui(client, lead, analyst):
    from disclosure.accounts.models import Organization

    client.force_login(analyst)
    assert client.get("/organizations/new/").status_code == 403
    assert "/organizations/new/" not in client.get("/organizations/").content.decode()
    client.force_login(lead)
    assert "/organizations/new/" in client.get("/organizations/").content.decode()
    r = client.post(
        "/organizations/new/",
        {
            "name": "Northwind",
            "domains": "northwind.example\nnw.example",
            "security_contacts": "nope",
            "time_zone": "UTC",
        },
    )
    assert r.status_code == 400 and "nope" in r.content.decode()
    assert not Organization.objects.filter(name="Northwind").exists()
    r = client.post(
        "/organizations/new/",
        {
            "name": "Northwind",
            "domains": "northwind.example\nnw.example",
            "security_contacts": "security@northwind.example",
            "time_zone": "Europe/Berlin",
        },
    )
    org = Organization.objects.get(name="Northwind")
    assert r.status_code == 302 and r["Location"] == f"/organizations/{org.pk}/"
    assert (org.domains, org.time_zone) == (["northwind.example", "nw.example"], "Europe/Berlin")
    page = client.get(f"/organizations/{org.pk}/").content.decode()
    assert "security@northwind.example" in page and f"/organizations/{org.pk}/edit/" in page
    r = client.post(
        f"/organizations/{org.pk}/edit/",
        {
            "name": "Northwind Traders",
            "domains": "northwind.example",
            "security_contacts": "",
            "time_zone": "Europe/Berlin",
        },
    )
    org.refresh_from_db()
    assert (r.status_code, org.name, org.domains, org.security_contacts) == (
        302,
        "Northwind Traders",
        ["northwind.example"],
        [],
    )
