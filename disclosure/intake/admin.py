"""Scanner findings in the admin, read-only (they are written by the intake)."""

from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, admin_site

from .models import Finding


@admin.register(Finding, site=admin_site)
class FindingAdmin(ReadOnlyCaseRecordAdmin):
    list_display = ("source", "external_id", "case_reference", "submissions", "created_at",
                    "last_submitted_at")  # fmt: skip
    search_fields = ("source", "external_id", "case__reference")
    list_select_related = ("case",)
    readonly_fields = ("source", "external_id", "case", "submitted_by", "created_at",
                       "last_submitted_at", "submissions")  # fmt: skip
