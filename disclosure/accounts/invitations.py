"""Vendor contacts: invitation by a single-use signed link, acceptance,
re-sending and deactivation, each recorded as a ContactEvent (who, when).

The link carries ``signing.dumps({"i": invitation id, "s": secret})``: the
signature refuses a tampered link, the secret (stored only as its SHA-256)
ties the link to one invitation row, whose state refuses a used, revoked
(re-sent or deactivated) or expired link. Mail leaves after the transaction
commits, through the transactional outbox (comms.outbox).
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction

from disclosure.comms import outbox
from disclosure.comms.models import OutboxPurpose
from disclosure.core.errors import DomainError, NotPermitted, ValidationFailed
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated

from .models import ContactEvent, Invitation, Membership, Organization, Role, User
from .selectors import can_manage_contacts, forget_principal

_SALT = "disclosure.accounts.invitation"


class InvitationInvalid(DomainError):
    """The invitation link is tampered with, used, replaced or expired."""

    code = "invitation_invalid"
    http_status = 400


@dataclass(frozen=True)
class SentInvitation:
    invitation: Invitation
    token: str  # the secret of the link; never stored


def max_age() -> timedelta:
    """How long an invitation link works (``DISCLOSURE_INVITATION_MAX_AGE_DAYS``, 7 by default)."""
    return timedelta(days=getattr(settings, "DISCLOSURE_INVITATION_MAX_AGE_DAYS", 7))


def _require_manager(actor: User, organization: Organization) -> None:
    if not can_manage_contacts(actor):
        raise NotPermitted("Only research staff (analyst, lead, admin) manage vendor contacts.")
    if organization.kind != Organization.Kind.VENDOR:
        raise ValidationFailed(
            "Contacts are invited to vendor organizations.", field="organization"
        )


def _is_or_was_staff(user: User) -> bool:
    """Whether ``user`` holds firm membership or admin flags, active or not
    (an inactive former staff member must not come back as a contact)."""
    return (
        user.is_superuser
        or user.is_staff
        or Membership.objects.filter(user=user, organization__kind=Organization.Kind.FIRM).exists()
    )


def _clean_email(email: str) -> str:
    email = clean_text(email, field="email").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(f"{email!r} is not an e-mail address.", field="email") from None
    return email


def _issue(
    *, actor: User, organization: Organization, email: str, link_template: str, kind: str
) -> SentInvitation:
    """Revoke the pending invitations of ``email`` to ``organization`` and
    create a new one, its event and its mail (after commit)."""
    at = now()
    Invitation.objects.filter(
        organization=organization, email=email, accepted_at=None, revoked_at=None
    ).update(revoked_at=at)
    secret = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        token_sha256=sha256_hex(secret.encode()),
        invited_by=actor,
        created_at=at,
        expires_at=at + max_age(),
    )
    ContactEvent.objects.create(
        organization=organization,
        kind=kind,
        email=email,
        contact=User.objects.filter(email__iexact=email).order_by("pk").first(),
        actor=actor,
        invitation=invitation,
        at=at,
    )
    token = signing.dumps({"i": invitation.pk, "s": secret}, salt=_SALT, compress=True)
    _queue_mail(invitation, link_template.replace("{token}", token))
    return SentInvitation(invitation, token)


def _queue_mail(invitation: Invitation, link: str) -> None:
    """Write the invitation's mail to the outbox in this transaction: sent
    after commit; a mail server that fails is retried by the outbox, and the
    committed invitation stays (staff can re-send it)."""
    firm_name = settings.DISCLOSURE_FIRM_NAME
    message = EmailMessage(
        subject=f"Your invitation to the {firm_name} vendor portal",
        body=(
            f"{invitation.invited_by.display_name()} of {firm_name} invites "
            f"you to the vendor portal as a contact of {invitation.organization.name}.\n\n"
            f"Open this link to choose your password and sign in (it works once, for "
            f"{max_age().days} day(s)):\n\n{link}\n\n"
            "If you did not expect this message, ignore it."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    outbox.enqueue(purpose=OutboxPurpose.INVITATION, message=message)


@transaction.atomic
@validated
def invite_contact(
    *, actor: User, organization: Organization, email: str, link_template: str
) -> SentInvitation:
    """Invite ``email`` to become a contact of the vendor ``organization``.

    ``link_template`` is the absolute accept URL with ``{token}`` in it.
    Guarantees: only staff who manage contacts invite; a valid address,
    not a staff member's and not already a contact of ``organization``;
    any pending invitation of the same address there is revoked (its link
    stops working); the invitation and a ContactEvent are written and the
    mail is queued after commit.
    """
    _require_manager(actor, organization)
    email = _clean_email(email)
    for user in User.objects.filter(email__iexact=email):
        if _is_or_was_staff(user):
            raise ValidationFailed(
                f"{email} belongs to research staff, who cannot be vendor contacts.",
                field="email",
            )
        if user.is_active and Membership.objects.filter(user=user, organization=organization):
            raise ValidationFailed(
                f"{email} is a contact of {organization.name} already.", field="email"
            )
    return _issue(
        actor=actor,
        organization=organization,
        email=email,
        link_template=link_template,
        kind=ContactEvent.Kind.INVITED,
    )


@transaction.atomic
@validated
def resend_invitation(*, actor: User, invitation: Invitation, link_template: str) -> SentInvitation:
    """Send ``invitation`` again as a new link; the old link stops working.
    Refused for an invitation already accepted."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _require_manager(actor, invitation.organization)
    if invitation.accepted_at is not None:
        raise ValidationFailed(
            f"{invitation.email} accepted this invitation already.", field="invitation"
        )
    return _issue(
        actor=actor,
        organization=invitation.organization,
        email=invitation.email,
        link_template=link_template,
        kind=ContactEvent.Kind.REINVITED,
    )


def check_invitation(token: str) -> Invitation:
    """The pending invitation that ``token`` opens, or InvitationInvalid
    saying why not (tampered, used, replaced, expired), written for the
    invitee."""
    try:
        data = signing.loads(token, salt=_SALT, max_age=max_age())
    except signing.SignatureExpired:
        raise InvitationInvalid(
            "This invitation link has expired. Ask your contact at the research firm "
            "to send a new one."
        ) from None
    except signing.BadSignature:
        raise InvitationInvalid(
            "This invitation link is not valid. Check that you copied all of it."
        ) from None
    secret = data.get("s") if isinstance(data, dict) else None
    invitation = None
    if isinstance(secret, str) and isinstance(data.get("i"), int):
        invitation = (
            Invitation.objects.select_related("organization")
            .filter(pk=data["i"], token_sha256=sha256_hex(secret.encode()))
            .first()
        )
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid.")
    state = invitation.state(now())
    if state == "accepted":
        raise InvitationInvalid(
            "This invitation was used already. Sign in to the portal with your password."
        )
    if state == "revoked":
        raise InvitationInvalid(
            "This invitation link was replaced by a newer one or withdrawn. "
            "Use the most recent invitation you received."
        )
    if state == "expired":
        raise InvitationInvalid(
            "This invitation link has expired. Ask your contact at the research firm "
            "to send a new one."
        )
    return invitation


def existing_account(invitation: Invitation) -> User | None:
    """The active account that already uses the invited address, if any
    (its owner signs in with their password instead of choosing one)."""
    return (
        User.objects.filter(email__iexact=invitation.email, is_active=True).order_by("pk").first()
    )


@transaction.atomic
@validated
def accept_invitation(
    *,
    token: str,
    password: str,
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Use the invitation ``token`` once: the invitee becomes a vendor contact
    of its organization and can sign in to the portal.

    A new address gets an account (username = the address) with ``password``
    (checked by the password validators). An address whose account exists
    and is active must give that account's password; a deactivated account
    is reactivated with the new password. Raises InvitationInvalid for a bad
    link and ValidationFailed (field ``password``) for a refused password;
    nothing is written then.
    """
    invitation = check_invitation(token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    check_invitation(token)  # again under the lock: two tabs, one use
    first_name = clean_text(first_name, model=User, field="first_name")
    last_name = clean_text(last_name, model=User, field="last_name")
    if any(_is_or_was_staff(u) for u in User.objects.filter(email__iexact=invitation.email)):
        raise InvitationInvalid("This address belongs to research staff.")
    user = existing_account(invitation)
    if user is not None:
        if not user.check_password(password):
            raise ValidationFailed(
                f"An account for {invitation.email} exists: enter its password.",
                field="password",
            )
    else:
        user = User.objects.filter(email__iexact=invitation.email).order_by("pk").first()
        if user is None:
            if User.objects.filter(username__iexact=invitation.email).exists():
                raise ValidationFailed(
                    "An account with this address as its username exists; ask the firm.",
                    field="password",
                )
            user = User(username=invitation.email, email=invitation.email)
        user.first_name = first_name or user.first_name
        user.last_name = last_name or user.last_name
        try:
            password_validation.validate_password(password, user)
        except ValidationError as e:
            raise ValidationFailed(" ".join(e.messages), field="password") from None
        user.set_password(password)
        user.is_active = True
        user.save()
    Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": Role.VENDOR_CONTACT}
    )
    forget_principal(user)
    at = now()
    invitation.accepted_at, invitation.accepted_by = at, user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    ContactEvent.objects.create(
        organization=invitation.organization,
        kind=ContactEvent.Kind.ACCEPTED,
        email=invitation.email,
        contact=user,
        actor=user,
        invitation=invitation,
        at=at,
    )
    return user


@transaction.atomic
@validated
def deactivate_contact(*, actor: User, organization: Organization, contact: User) -> None:
    """End ``contact``'s access to ``organization``'s cases now: the
    membership goes, every session of theirs ends, pending invitations of
    their address there are revoked, and an account left without any
    membership is deactivated. Recorded as a ContactEvent."""
    _require_manager(actor, organization)
    contact = User.objects.select_for_update().get(pk=contact.pk)
    deleted, _ = Membership.objects.filter(
        user=contact, organization=organization, role=Role.VENDOR_CONTACT
    ).delete()
    if not deleted:
        raise ValidationFailed(
            f"{contact.get_username()} is not a contact of {organization.name}.", field="contact"
        )
    at = now()
    Invitation.objects.filter(
        organization=organization, email__iexact=contact.email, accepted_at=None, revoked_at=None
    ).update(revoked_at=at)
    contact.session_epoch += 1  # every session's hash stops matching
    fields = ["session_epoch"]
    if not Membership.objects.filter(user=contact).exists():
        contact.is_active = False
        fields.append("is_active")
    contact.save(update_fields=fields)
    forget_principal(contact)
    ContactEvent.objects.create(
        organization=organization,
        kind=ContactEvent.Kind.DEACTIVATED,
        email=contact.email,
        contact=contact,
        actor=actor,
        at=at,
    )
