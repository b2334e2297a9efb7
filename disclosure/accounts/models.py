"""Users, organizations (the research firm and vendors) and memberships."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.crypto import salted_hmac

from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import clean_name


class User(AbstractUser):
    """A person: research-firm staff or a vendor liaison contact.

    What a user may do follows from their memberships, never from
    ``is_staff`` (which only opens the Django admin). A vendor contact is
    never superuser or staff: saving one with either flag raises
    ``ValidationFailed`` (``clean`` gives the admin's form the same as a
    field error), and the access module ignores the flags of anyone who
    holds a vendor membership (``accounts.selectors.remember_principal``).
    ``manage.py check --database default`` reports any such account that
    was written behind the model's back (``accounts.checks``).
    """

    # Raised to end every session of the user (a deactivated contact): the
    # session hash covers it, so older sessions no longer authenticate.
    session_epoch = models.PositiveIntegerField(default=0, editable=False)

    class MailDelivery(models.TextChoices):
        IMMEDIATE = "immediate", "Each notice at once"
        DIGEST = "digest", "A daily digest"

    # How this person is told of what happens on their cases (comms.notices).
    mail_delivery = models.CharField(
        max_length=10, choices=MailDelivery.choices, default=MailDelivery.IMMEDIATE
    )

    def display_name(self) -> str:
        return self.get_full_name() or self.username

    def admin_flags_refused(self) -> tuple[str, str] | None:
        """(field, message) when this user, as set on the instance, is a
        vendor contact flagged superuser or staff; else None."""
        flag = "is_superuser" if self.is_superuser else "is_staff" if self.is_staff else None
        if flag is None or self.pk is None:
            return None
        vendors = self.memberships.filter(organization__kind=Organization.Kind.VENDOR)
        if not vendors.exists():
            return None
        what = "a superuser" if flag == "is_superuser" else "staff (Django admin)"
        return flag, (
            f"{self.get_username()} is a vendor contact: a vendor contact cannot be {what}."
        )

    def save(self, *args, **kwargs) -> None:
        fields = kwargs.get("update_fields")
        # A save that leaves both flags as stored (a login's last_login) is
        # not refused: the check reports such an account, the access module
        # ignores its flags.
        touches_flags = fields is None or {"is_superuser", "is_staff"} & set(fields)
        refused = self.admin_flags_refused() if touches_flags else None
        if refused:
            raise ValidationFailed(refused[1], field=refused[0])
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        refused = self.admin_flags_refused()
        if refused:
            raise ValidationError({refused[0]: refused[1]})

    def _get_session_auth_hash(self, secret=None) -> str:
        base = super()._get_session_auth_hash(secret=secret)
        if not self.session_epoch:
            return base  # sessions made before epochs existed stay valid
        return salted_hmac(
            "disclosure.accounts.User.session_epoch",
            f"{base}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()


class Organization(models.Model):
    """The research firm (exactly one: any firm grants staff rights) or a
    vendor. The kind is fixed once the organization has members, because
    each membership's role was chosen for it."""

    class Kind(models.TextChoices):
        FIRM = "firm", "Research firm"
        VENDOR = "vendor", "Vendor"

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    domain = models.CharField(
        max_length=253, blank=True, help_text="Main e-mail/web domain, if known."
    )
    # A vendor's domains (the first is ``domain``), the addresses its
    # security notices go to, and its time zone (accounts.vendors writes them).
    domains = models.JSONField(default=list, blank=True, help_text="Host names, lower case.")
    security_contacts = models.JSONField(
        default=list, blank=True, help_text="E-mail addresses for security notices."
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    # Whether notices mailed to this vendor's contacts may quote the case's
    # confidential content (a message's text, a stage's note); otherwise they
    # say only that something waits in the portal, with a link.
    mail_includes_content = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="organization_unique_name_ci"),
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="firm"),
                name="organization_single_firm",
                violation_error_message="There is exactly one research firm.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        refused = self.kind_change_refused()
        if refused:
            raise ValidationFailed(refused, field="kind")
        super().save(*args, **kwargs)

    def kind_change_refused(self) -> str | None:
        """Why the kind as set on this instance may not be saved, or None:
        it differs from the stored kind while the organization has members."""
        if self.pk is None:
            return None
        stored = Organization.objects.filter(pk=self.pk).values_list("kind", flat=True).first()
        if stored is None or stored == self.kind or not self.memberships.exists():
            return None
        return (
            f"{self.name} has members, whose roles were given for a "
            f"{Organization.Kind(stored).label.lower()}: its kind cannot change."
        )

    def clean(self) -> None:
        super().clean()
        # The admin writes organizations without accounts.services: the same
        # name rules (normalised; no invisible, direction or control character).
        try:
            self.name = clean_name(self.name, field="name", label="organization's name")
        except ValidationFailed as exc:
            raise ValidationError({"name": exc.message}) from exc
        refused = self.kind_change_refused()
        if refused:
            raise ValidationError({"kind": refused})
        if (
            self.kind == Organization.Kind.FIRM
            and Organization.objects.filter(kind=Organization.Kind.FIRM)
            .exclude(pk=self.pk)
            .exists()
        ):
            raise ValidationError({"kind": "There is one research firm already."})


class Role(models.TextChoices):
    ANALYST = "analyst", "Analyst"
    LEAD = "lead", "Lead"
    LEGAL = "legal", "Legal"
    ADMIN = "admin", "Admin"
    VENDOR_CONTACT = "vendor_contact", "Vendor contact"


STAFF_ROLES = frozenset({Role.ANALYST, Role.LEAD, Role.LEGAL, Role.ADMIN})


class Membership(models.Model):
    """A user's role in one organization. Staff roles belong to the firm,
    the vendor-contact role to a vendor (a database constraint holds it)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    # Denormalised from the organization so that the database can check the
    # role fits the kind of organization.
    organization_kind = models.CharField(
        max_length=10, choices=Organization.Kind.choices, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_unique_user_org"
            ),
            models.CheckConstraint(
                condition=(
                    Q(organization_kind="vendor", role="vendor_contact")
                    | (Q(organization_kind="firm") & ~Q(role="vendor_contact"))
                ),
                name="membership_role_fits_org_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.organization}"

    def save(self, *args, **kwargs) -> None:
        self.organization_kind = self.organization.kind
        refused = self.admin_flags_refused()
        if refused:
            raise ValidationFailed(refused, field="user")
        super().save(*args, **kwargs)

    def admin_flags_refused(self) -> str | None:
        """Why this membership may not be saved, or None: it makes a
        superuser or staff (Django admin) account a vendor contact."""
        if self.organization_kind != Organization.Kind.VENDOR or self.user_id is None:
            return None
        if not (self.user.is_superuser or self.user.is_staff):
            return None
        return (
            f"{self.user.get_username()} is a superuser or staff (Django admin) account: "
            "it cannot be a vendor contact."
        )

    def clean(self) -> None:
        try:
            # In the admin's inline of a new organization, the organization is
            # not saved yet (no id) but is already set: its kind still counts.
            organization = self.organization
        except Organization.DoesNotExist:
            return
        self.organization_kind = organization.kind
        is_vendor = organization.kind == Organization.Kind.VENDOR
        if is_vendor != (self.role == Role.VENDOR_CONTACT):
            raise ValidationError(
                {"role": "Vendor organizations have vendor contacts; the firm has staff roles."}
            )
        refused = self.admin_flags_refused()
        if refused:
            raise ValidationError({"user": refused})


class Invitation(models.Model):
    """An invitation of a vendor contact by e-mail: a single-use signed link
    that expires. Only the SHA-256 of the link's secret is stored. Re-sending
    revokes it (a new invitation replaces it); accepting uses it up."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField(max_length=254)
    token_sha256 = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "email"])]

    def __str__(self) -> str:
        return f"Invitation of {self.email} to {self.organization}"

    def state(self, at) -> str:
        """The state at ``at``: accepted, revoked, expired or pending."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if at >= self.expires_at else "pending"


class ContactEvent(models.Model):
    """The history of a vendor organization's contacts: who invited,
    re-invited, accepted or deactivated whom, and when."""

    class Kind(models.TextChoices):
        INVITED = "invited", "Invited"
        REINVITED = "reinvited", "Invitation re-sent"
        ACCEPTED = "accepted", "Invitation accepted"
        DEACTIVATED = "deactivated", "Deactivated"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contact_events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    email = models.EmailField(max_length=254)
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contact_events",
    )
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    invitation = models.ForeignKey(
        Invitation, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.email} ({self.organization})"


class OrganizationChange(models.Model):
    """Who created or edited a vendor organization, when, and every changed
    field's before and after (``{field: {"from", "to"}}``). Organizations
    are not case-scoped: this is their audit trail, written by
    ``accounts.vendors`` in the change's transaction."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        UPDATED = "updated", "Updated"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField()
    changes = models.JSONField()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.organization} at {self.at:%Y-%m-%d %H:%M}"


class AccessEvent(models.Model):
    """The access audit: one row per sign-in, failed sign-in, lock-out,
    unlock, change of factors or password, ended session, export, download
    and lookup, with who (when known), the name typed (failed sign-ins), the
    request's address and the time. Written by ``accounts.audit.record``
    only; the lock-out (``accounts.lockout``) counts failures from it. Rows
    are never updated."""

    class Kind(models.TextChoices):
        SIGN_IN = "sign_in", "Signed in"
        SIGN_IN_FAILED = "sign_in_failed", "Sign-in failed"
        SIGN_IN_LOCKED = "sign_in_locked", "Sign-in refused (locked out)"
        LOCKED_OUT = "locked_out", "Locked out"
        UNLOCKED = "unlocked", "Unlocked by an admin"
        SIGN_OUT = "sign_out", "Signed out"
        FACTOR_FAILED = "factor_failed", "Second factor failed"
        TOKEN_FAILED = "token_failed", "API token refused"
        MFA_ENROLLED = "mfa_enrolled", "Second factor set up"
        RECOVERY_CODES = "recovery_codes", "Recovery codes replaced"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        MFA_RESET = "mfa_reset", "Second factor reset by an admin"
        MFA_REMOVED = "mfa_removed", "Second factor removed"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        PASSWORD_RESET_ASKED = "password_reset_asked", "Password reset asked"
        PASSWORD_RESET = "password_reset", "Password reset by mail link"
        SESSION_ENDED = "session_ended", "Session ended"
        EXPORT = "export", "Export"
        DOWNLOAD = "download", "Download"
        LOOKUP = "lookup", "Lookup"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    at = models.DateTimeField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_events",
    )
    # The name as typed (lower case) for sign-ins, so that failures for an
    # unknown or locked account are counted and shown too.
    username = models.CharField(max_length=150, blank=True, default="")
    address = models.GenericIPAddressField(null=True, blank=True)
    interface = models.CharField(max_length=12, blank=True, default="")
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["username", "at"], name="access_username_at"),
            models.Index(fields=["address", "at"], name="access_address_at"),
            models.Index(fields=["kind", "at"], name="access_kind_at"),
        ]

    def __str__(self) -> str:
        who = self.user or self.username or "-"
        where = self.address or "-"
        return f"{self.get_kind_display()}: {who} from {where} at {self.at:%Y-%m-%d %H:%M}"


class UserSession(models.Model):
    """A signed-in session the user can see and end (``accounts.sessions``):
    written when a sign-in page makes it, deleted when it ends."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField()
    address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True, default="")
    interface = models.CharField(max_length=12, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Session of {self.user} since {self.created_at:%Y-%m-%d %H:%M}"
