"""API tokens in the admin: listed and revocable, never created there (the
secret must be shown once, which the staff page and the command do)."""

from django.contrib import admin, messages

from disclosure.accounts.admin_site import ReadOnlyAdmin, admin_site
from disclosure.core.errors import DomainError

from . import services
from .models import ApiToken


@admin.register(ApiToken, site=admin_site)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ("name", "prefix", "user", "scope", "created_at", "expires_at",
                    "last_used_at", "revoked_at")  # fmt: skip
    list_filter = ("scope",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "name", "prefix", "scope", "created_at", "expires_at",
                       "last_used_at", "revoked_at", "revoked_by")  # fmt: skip
    fields = readonly_fields
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset) -> None:
        done = 0
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                services.revoke_token(actor=request.user, token_id=token.pk)
            except DomainError as e:
                self.message_user(request, e.message, messages.ERROR)
            else:
                done += 1
        self.message_user(request, f"{done} token(s) revoked.")
