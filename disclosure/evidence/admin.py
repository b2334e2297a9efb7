from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, admin_site

from .models import DeletionAttestation, EvidenceFile


@admin.register(EvidenceFile, site=admin_site)
class EvidenceFileAdmin(ReadOnlyCaseRecordAdmin):
    list_display = ["case_reference", "original_name", "kind", "content_type", "size", "sha256"]
    list_filter = ["kind", "content_type"]
    list_select_related = ["case"]
    search_fields = ["case__reference", "sha256", "original_name"]


@admin.register(DeletionAttestation, site=admin_site)
class DeletionAttestationAdmin(ReadOnlyCaseRecordAdmin):
    list_display = ["case_reference", "method", "total_bytes", "performed_at", "countersigned_at"]
    list_select_related = ["case"]
