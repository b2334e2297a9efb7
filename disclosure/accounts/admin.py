from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from disclosure.accounts.admin_site import ReadOnlyAdmin, RoleAdmin, admin_site

from .models import AccessEvent, ContactEvent, Invitation, Membership, Organization, User


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def _allowed(self, request) -> bool:
        return admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self._allowed(request)


@admin.register(Organization, site=admin_site)
class OrganizationAdmin(RoleAdmin):
    list_display = ["name", "kind", "domain"]
    list_filter = ["kind"]
    search_fields = ["name", "domain"]
    inlines = [MembershipInline]
    # A vendor's domains, security contacts and time zone are edited in the
    # staff UI (accounts.vendors: validated and audited), shown here.
    readonly_fields = ["domains", "security_contacts", "time_zone"]

    def get_readonly_fields(self, request, obj=None):
        """The kind is fixed once the organization has members (their roles
        were given for it); the model refuses the change too."""
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk is not None and obj.memberships.exists():
            fields.append("kind")
        return fields


@admin.register(User, site=admin_site)
class UserAdmin(RoleAdmin, DjangoUserAdmin):
    list_display = ["username", "email", "first_name", "last_name", "is_active", "is_staff"]


@admin.register(Membership, site=admin_site)
class MembershipAdmin(RoleAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization__kind"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]


@admin.register(Invitation, site=admin_site)
class InvitationAdmin(ReadOnlyAdmin):
    """Invitations are written by accounts.invitations (staff UI, Vendors)."""

    list_display = ["email", "organization", "invited_by", "created_at", "expires_at",
                    "accepted_at", "revoked_at"]  # fmt: skip
    list_filter = ["organization"]
    list_select_related = ["organization", "invited_by"]
    search_fields = ["email"]
    exclude = ["token_sha256"]


@admin.register(ContactEvent, site=admin_site)
class ContactEventAdmin(ReadOnlyAdmin):
    """Who invited, re-invited, accepted or deactivated which contact, when."""

    list_display = ["at", "kind", "email", "organization", "actor"]
    list_filter = ["kind", "organization"]
    list_select_related = ["organization", "actor"]
    search_fields = ["email"]


@admin.register(AccessEvent, site=admin_site)
class AccessEventAdmin(ReadOnlyAdmin):
    """The access audit (accounts.audit), read-only; the staff UI's page
    (/settings/access/) also unlocks and exports it."""

    list_display = ["at", "kind", "user", "username", "address", "interface"]
    list_filter = ["kind", "interface"]
    list_select_related = ["user"]
    search_fields = ["username", "address"]
