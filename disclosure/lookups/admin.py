from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyAdmin, admin_site

from .models import DomainVerification


@admin.register(DomainVerification, site=admin_site)
class DomainVerificationAdmin(ReadOnlyAdmin):
    """Who proved (or tried to prove) control of which domain, how and when.
    Read-only: the secret's hash and the nonce are not shown."""

    list_display = ["domain", "user", "method", "address", "created_at", "verified_at",
                    "valid_until"]  # fmt: skip
    list_filter = ["method"]
    search_fields = ["domain", "user__username", "address"]
    list_select_related = ["user"]
    exclude = ["nonce", "secret_hash"]
