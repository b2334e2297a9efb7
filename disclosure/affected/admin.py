from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, admin_site

from .models import Dispute


@admin.register(Dispute, site=admin_site)
class DisputeAdmin(ReadOnlyCaseRecordAdmin):
    list_display = ["case_reference", "subject", "status", "filed_at"]
    list_filter = ["status"]
    list_select_related = ["case"]
