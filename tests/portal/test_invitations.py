"""Invitations: a contact accepts a single-use signed link and lands in the
portal; expired, reused, tampered and re-sent-then-old links are refused
with a clear page; deactivation ends access and sessions; all recorded."""

import re
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.urls import reverse

from disclosure.accounts import invitations
from disclosure.accounts.models import ContactEvent, Invitation, Membership, User
from disclosure.comms import outbox
from disclosure.comms.models import OutboxMessage
from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from tests.factories import MembershipFactory

TEMPLATE = "http://testserver/portal/invitation/{token}/"
PASSWORD = "a-long-portal-passphrase-42"


def _invite(actor, org, email="liaison@contoso.example"):
    return invitations.invite_contact(
        actor=actor, organization=org, email=email, link_template=TEMPLATE
    )


def _accept_url(token):
    return reverse("portal:accept_invitation", args=[token])


def _accept(client, token, **extra):
    data = {"first_name": "Alex", "last_name": "Chen", "password": PASSWORD,
            "password_again": PASSWORD, **extra}  # fmt: skip
    return client.post(_accept_url(token), data)


def test_the_invitation_mail_carries_a_working_link(
    client, analyst, vendor, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = _invite(analyst, vendor)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["liaison@contoso.example"]
    link = re.search(r"http://testserver(/portal/invitation/\S+/)", message.body).group(1)
    assert link == _accept_url(sent.token)
    page = client.get(link)
    assert page.status_code == 200
    assert "Contoso" in page.content.decode()
    response = _accept(client, sent.token)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:case_list")
    user = User.objects.get(email="liaison@contoso.example")
    assert Membership.objects.get(user=user).role == "vendor_contact"
    assert client.get(reverse("portal:case_list")).status_code == 200  # signed in
    assert user.check_password(PASSWORD)


def test_the_database_keeps_no_usable_link_once_the_mail_is_sent(
    analyst, vendor, django_capture_on_commit_callbacks
):
    """The outbox had kept the whole invitation mail, its single-use link
    included, where only the token's hash was kept before."""
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = _invite(analyst, vendor)
    assert sent.token in mail.outbox[0].body
    row = OutboxMessage.objects.get(recipients=["liaison@contoso.example"])
    assert (row.purpose, row.status, bytes(row.raw)) == ("invitation", "sent", b"")


def test_an_invitation_mail_that_fails_for_good_is_erased_too(
    settings, analyst, vendor, django_capture_on_commit_callbacks
):
    settings.DISCLOSURE_MAIL_MAX_ATTEMPTS = 1
    with django_capture_on_commit_callbacks(execute=False):
        sent = _invite(analyst, vendor)
    row = OutboxMessage.objects.get(recipients=["liaison@contoso.example"])
    assert sent.token in bytes(row.raw).decode()  # queued: the link is there to be sent
    OutboxMessage.objects.filter(pk=row.pk).update(attempts=1, status="sending", lease_until=now())
    outbox.deliver(row.pk)  # re-claimed after its last attempt: failed for good
    row.refresh_from_db()
    assert (row.status, bytes(row.raw)) == ("failed", b"")


def test_an_invitation_works_once(client, analyst, vendor):
    sent = _invite(analyst, vendor)
    assert _accept(client, sent.token).status_code == 302
    client.logout()
    response = client.get(_accept_url(sent.token))
    assert response.status_code == 400
    assert "used already" in response.content.decode()
    assert _accept(client, sent.token).status_code == 400


def test_an_expired_link_is_refused(client, analyst, vendor, settings):
    sent = _invite(analyst, vendor)
    Invitation.objects.filter(pk=sent.invitation.pk).update(
        created_at=sent.invitation.created_at - timedelta(days=8),
        expires_at=sent.invitation.expires_at - timedelta(days=8),
    )
    response = client.get(_accept_url(sent.token))
    assert response.status_code == 400
    assert "expired" in response.content.decode()


def test_the_signature_also_expires(client, analyst, vendor, settings):
    sent = _invite(analyst, vendor)
    settings.DISCLOSURE_INVITATION_MAX_AGE_DAYS = 0
    response = client.get(_accept_url(sent.token))
    assert response.status_code == 400
    assert "expired" in response.content.decode()


@pytest.mark.parametrize("how", ["flipped", "truncated", "forged"])
def test_a_tampered_link_is_refused(client, analyst, vendor, how):
    sent = _invite(analyst, vendor)
    token = sent.token
    if how == "flipped":
        token = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    elif how == "truncated":
        token = token[:-10]
    else:  # a valid signature with the key, but a guessed secret
        token = signing.dumps(
            {"i": sent.invitation.pk, "s": "guess"}, salt="disclosure.accounts.invitation"
        )
    response = client.get(_accept_url(token))
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert _accept(client, token).status_code == 400
    assert not User.objects.filter(email="liaison@contoso.example").exists()


def test_resending_invalidates_the_old_link(client, analyst, vendor):
    first = _invite(analyst, vendor)
    second = invitations.resend_invitation(
        actor=analyst, invitation=first.invitation, link_template=TEMPLATE
    )
    response = client.get(_accept_url(first.token))
    assert response.status_code == 400
    assert "replaced" in response.content.decode()
    assert _accept(client, second.token).status_code == 302


def test_inviting_again_also_replaces_the_pending_link(client, analyst, vendor):
    first = _invite(analyst, vendor)
    _invite(analyst, vendor)
    assert client.get(_accept_url(first.token)).status_code == 400


def test_a_refused_password_is_a_form_error_and_the_link_still_works(client, analyst, vendor):
    sent = _invite(analyst, vendor)
    response = _accept(client, sent.token, password="123", password_again="123")
    assert response.status_code == 400
    assert "too short" in response.content.decode()
    response = _accept(client, sent.token, password_again="different-passphrase-99")
    assert response.status_code == 400
    assert "differ" in response.content.decode()
    assert Invitation.objects.get(pk=sent.invitation.pk).accepted_at is None
    assert _accept(client, sent.token).status_code == 302


def test_an_existing_contact_of_another_vendor_adds_the_organization_with_their_password(
    client, analyst, vendor, other_vendor_contact
):
    sent = _invite(analyst, vendor, email=other_vendor_contact.email)
    page = client.get(_accept_url(sent.token)).content.decode()
    assert "current password" in page
    assert client.post(_accept_url(sent.token), {"password": "wrong"}).status_code == 400
    response = client.post(_accept_url(sent.token), {"password": "pw-for-tests-1"})
    assert response.status_code == 302
    orgs = set(
        Membership.objects.filter(user=other_vendor_contact).values_list(
            "organization__name", flat=True
        )
    )
    assert orgs == {"Contoso", "Fabrikam"}


def test_deactivation_ends_access_and_records_it(client, analyst, vendor, notified_case):
    sent = _invite(analyst, vendor)
    _accept(client, sent.token)
    user = User.objects.get(email="liaison@contoso.example")
    assert client.get(reverse("portal:case_list")).status_code == 200
    invitations.deactivate_contact(actor=analyst, organization=vendor, contact=user)
    user.refresh_from_db()
    assert not user.is_active
    assert client.get(reverse("portal:case_list")).status_code == 302  # session ended
    assert not client.login(username=user.username, password=PASSWORD)
    kinds = list(
        ContactEvent.objects.filter(organization=vendor)
        .order_by("at", "id")
        .values_list("kind", "actor__username")
    )
    assert kinds == [
        ("invited", analyst.username),
        ("accepted", user.username),
        ("deactivated", analyst.username),
    ]


def test_deactivating_one_vendor_keeps_the_other(
    client, analyst, vendor, other_vendor, notified_case, other_case
):
    contact = MembershipFactory(organization=vendor, role="vendor_contact").user
    MembershipFactory(user=contact, organization=other_vendor, role="vendor_contact")
    client.force_login(contact)
    invitations.deactivate_contact(actor=analyst, organization=vendor, contact=contact)
    contact.refresh_from_db()
    assert contact.is_active
    assert client.get(reverse("portal:case_list")).status_code == 302  # sessions ended
    assert client.login(username=contact.username, password="pw-for-tests-1")
    assert list(Membership.objects.filter(user=contact).values_list("organization", flat=True)) == [
        other_vendor.pk
    ]
    case_url = reverse("portal:case_detail", args=[notified_case.reference])
    assert client.get(case_url).status_code == 404  # Contoso's case is gone
    assert client.get(reverse("portal:case_detail", args=[other_case.reference])).status_code == 200


def test_a_deactivated_contact_can_be_invited_back(client, analyst, vendor, vendor_contact):
    invitations.deactivate_contact(actor=analyst, organization=vendor, contact=vendor_contact)
    sent = _invite(analyst, vendor, email=vendor_contact.email)
    assert _accept(client, sent.token).status_code == 302
    vendor_contact.refresh_from_db()
    assert vendor_contact.is_active
    assert vendor_contact.check_password(PASSWORD)


@pytest.mark.parametrize(
    "email,error",
    [("not-an-address", "not an e-mail address"), ("STAFF", "research staff"),
     ("CONTACT", "a contact of Contoso already")],
)  # fmt: skip
def test_invitation_refusals(analyst, vendor, vendor_contact, email, error):
    email = {"STAFF": analyst.email, "CONTACT": vendor_contact.email.upper()}.get(email, email)
    with pytest.raises(ValidationFailed, match=error):
        _invite(analyst, vendor, email=email)
    assert not Invitation.objects.exists()


def test_only_staff_who_manage_contacts_invite(legal, vendor_contact, vendor, firm):
    for actor in (legal, vendor_contact):
        with pytest.raises(NotPermitted):
            _invite(actor, vendor)
    with pytest.raises(ValidationFailed, match="vendor organizations"):
        _invite(MembershipFactory(organization=firm, role="lead").user, firm)


def test_a_session_made_before_the_epoch_existed_still_works(client, vendor_contact):
    assert vendor_contact.session_epoch == 0
    client.force_login(vendor_contact)
    assert client.get(reverse("portal:case_list")).status_code == 200


def test_a_former_staff_member_cannot_come_back_as_a_contact(client, analyst, lead, vendor):
    sent = _invite(analyst, vendor, email="someone@contoso.example")
    lead.is_active = False
    lead.email = "someone@contoso.example"
    lead.save()
    response = _accept(client, sent.token)
    assert response.status_code == 400
    assert "research staff" in response.content.decode()
    lead.refresh_from_db()
    assert not lead.is_active
    with pytest.raises(ValidationFailed, match="research staff"):
        _invite(analyst, vendor, email="SOMEONE@contoso.example")
