from django.contrib import admin

from disclosure.core.admin_site import ReadOnlyAdmin, admin_site

from .models import Communication


@admin.register(Communication, site=admin_site)
class CommunicationAdmin(ReadOnlyAdmin):
    list_display = ["case", "direction", "channel", "subject", "occurred_at"]
    list_filter = ["direction", "channel"]
    list_select_related = ["case"]
    search_fields = ["case__reference", "subject", "sender"]
