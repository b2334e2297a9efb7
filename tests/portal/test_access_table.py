"""Every portal URL against five actors, as an explicit table written out by
hand: anonymous, another vendor's contact, the case's vendor contact, a
deactivated contact and staff. And vendor contacts never reach the staff UI
or the admin."""

import pytest
from django.urls import reverse

from tests.factories import FirmFactory, MembershipFactory

LOGIN = "login"  # a redirect to the portal's sign-in
STAFF_LOGIN = "staff-login"  # a redirect to the staff sign-in

ACTORS = ("anonymous", "other_contact", "own_contact", "deactivated", "staff")

# url name -> expected answer for each actor, in ACTORS order.
TABLE = {
    "case_list": (LOGIN, 200, 200, LOGIN, 404),
    "case_detail": (LOGIN, 404, 200, LOGIN, 404),
    "timeline_fragment": (LOGIN, 404, 200, LOGIN, 404),
    "action_acknowledge": (LOGIN, 404, 200, LOGIN, 404),
    "action_log_communication": (LOGIN, 404, 200, LOGIN, 404),
    "action_attach_evidence": (LOGIN, 404, 200, LOGIN, 404),
    "action_secure": (LOGIN, 404, 200, LOGIN, 404),
    "action_file_dispute": (LOGIN, 404, 200, LOGIN, 404),
    # Nothing to countersign on a notified case: visible, but not open now.
    "action_countersign_attestation": (LOGIN, 404, 403, LOGIN, 404),
    "action_unknown": (LOGIN, 404, 404, LOGIN, 404),
    "evidence_shared": (LOGIN, 404, 200, LOGIN, 404),
    "evidence_internal": (LOGIN, 404, 404, LOGIN, 404),
    "preview": (STAFF_LOGIN, 404, 404, STAFF_LOGIN, 200),
    "login": (200, 302, 302, 200, 200),
    "tokens": (LOGIN, 200, 200, LOGIN, 404),
    # A valid invitation link opens its form for whoever holds it.
    "invitation": (200, 200, 200, 200, 200),
}


def _url(name, case, shared_evidence, internal_evidence):
    ref = case.reference
    if name.startswith("action_"):
        return reverse("portal:case_action", args=[ref, name.removeprefix("action_")])
    return {
        "case_list": reverse("portal:case_list"),
        "case_detail": reverse("portal:case_detail", args=[ref]),
        "timeline_fragment": reverse("portal:case_detail", args=[ref]) + "?page=1",
        "evidence_shared": reverse("portal:evidence_download", args=[ref, shared_evidence.pk]),
        "evidence_internal": reverse("portal:evidence_download", args=[ref, internal_evidence.pk]),
        "preview": reverse("portal:preview", args=[ref]),
        "login": reverse("portal:login"),
        "tokens": reverse("portal:tokens"),
    }[name]


@pytest.fixture
def invitation_token(vendor):
    """A pending invitation to Contoso, for the "invitation" row."""
    from disclosure.accounts import invitations

    staff = MembershipFactory(organization=FirmFactory(), role="lead").user
    return invitations.invite_contact(
        actor=staff, organization=vendor, email="new@contoso.example",
        link_template="http://testserver/portal/invitation/{token}/",
    ).token  # fmt: skip


@pytest.fixture
def actor_user(request, other_vendor_contact, vendor_contact, deactivated_contact, analyst):
    return {
        "anonymous": None,
        "other_contact": other_vendor_contact,
        "own_contact": vendor_contact,
        "deactivated": deactivated_contact,
        "staff": analyst,
    }[request.param]


@pytest.mark.parametrize(
    "actor_user,name,expected",
    [(a, name, row[i]) for name, row in TABLE.items() for i, a in enumerate(ACTORS)],
    indirect=["actor_user"],
)
def test_portal_url_answers(
    invitation_token,
    client,
    actor_user,
    name,
    expected,
    notified_case,
    shared_evidence,
    internal_evidence,
):
    if actor_user is not None:
        client.force_login(actor_user)
    if name == "invitation":
        url = reverse("portal:accept_invitation", args=[invitation_token])
    else:
        url = _url(name, notified_case, shared_evidence, internal_evidence)
    headers = {"HX-Request": "true", "HX-Target": "timeline"} if name == "timeline_fragment" else {}
    response = client.get(url, headers=headers)
    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("portal:login"))
    elif expected == STAFF_LOGIN:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("staff:login"))
    else:
        assert response.status_code == expected


def test_a_deactivated_contacts_live_session_ends(
    client, vendor_contact, vendor, analyst, notified_case
):
    from disclosure.accounts import invitations

    client.force_login(vendor_contact)
    assert client.get(reverse("portal:case_list")).status_code == 200
    invitations.deactivate_contact(actor=analyst, organization=vendor, contact=vendor_contact)
    response = client.get(reverse("portal:case_detail", args=[notified_case.reference]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


@pytest.mark.parametrize(
    "path",
    ["/", "/cases/", "/cases/new/", "/organizations/", "CASE", "CASE-ACTION"],
)
def test_vendor_contacts_never_reach_staff_pages(client, vendor_contact, notified_case, path):
    client.force_login(vendor_contact)
    if path == "CASE":
        path = notified_case.get_absolute_url()
    elif path == "CASE-ACTION":
        path = notified_case.get_absolute_url() + "actions/acknowledge/"
    assert client.get(path).status_code == 404


def test_vendor_contacts_never_reach_the_admin(client, vendor_contact):
    client.force_login(vendor_contact)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert client.get("/admin/cases/case/").status_code == 302


def test_a_case_before_notification_is_invisible(client, vendor_contact, found_case):
    client.force_login(vendor_contact)
    assert client.get(reverse("portal:case_detail", args=[found_case.reference])).status_code == 404
    assert found_case.reference not in client.get(reverse("portal:case_list")).content.decode()
