from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, admin_site

from .models import Communication


@admin.register(Communication, site=admin_site)
class CommunicationAdmin(ReadOnlyCaseRecordAdmin):
    list_display = ["case_reference", "direction", "channel", "subject", "occurred_at"]
    list_filter = ["direction", "channel"]
    list_select_related = ["case"]
    search_fields = ["case__reference", "subject", "sender"]
