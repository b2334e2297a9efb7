"""The admin site: for admin-role staff only, with role-based permissions.

Model admins derive from ``RoleAdmin`` (full access for admins) or
``ReadOnlyAdmin`` (view only: the ledger and everything the ledger vouches for).
"""

from django.contrib import admin

from .selectors import can_administer


class DisclosureAdminSite(admin.AdminSite):
    site_header = "Disclosure administration"
    site_url = "/"  # "View site": the staff UI
    site_title = "Disclosure admin"
    index_title = "Administration"

    def has_permission(self, request) -> bool:
        return request.user.is_active and can_administer(request.user)

    def login(self, request, extra_context=None):
        """The admin's own page, with the staff sign-in's two steps behind
        it (lock-out, one answer for every refusal, the second factor):
        Django's admin login would sign in with a password alone."""

        from disclosure.signin.views import SignInView

        if request.method == "GET" and self.has_permission(request):
            return super().login(request, extra_context)
        context = {
            **self.each_context(request),
            "title": "Log in",
            "subtitle": None,
            "app_path": request.get_full_path(),
            "username": request.user.get_username(),
            **(extra_context or {}),
        }
        return SignInView.as_view(
            template_name="admin/login.html",
            interface="admin",
            default_next="admin:index",
            extra_context=context,
        )(request)


admin_site = DisclosureAdminSite(name="admin")


class RoleAdmin(admin.ModelAdmin):
    """Permissions follow the admin role, not Django's per-model permissions."""

    def has_module_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request) -> bool:
        return self.admin_site.has_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.admin_site.has_permission(request)


class ReadOnlyAdmin(RoleAdmin):
    """View only: rows here are written by services with their ledger events."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyCaseRecordAdmin(ReadOnlyAdmin):
    """Read-only records of a case, listed with the case's reference."""

    @admin.display(description="case", ordering="case__reference")
    def case_reference(self, obj) -> str:
        return obj.case.reference
