from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, admin_site

from .models import Export


@admin.register(Export, site=admin_site)
class ExportAdmin(ReadOnlyCaseRecordAdmin):
    list_display = [
        "case_reference", "id", "format", "variant", "status", "requested_by", "requested_at",
        "sha256",
    ]  # fmt: skip
    list_filter = ["status", "format", "variant"]
    list_select_related = ["case", "requested_by"]
    search_fields = ["case__reference", "sha256"]
