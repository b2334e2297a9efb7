from django.contrib import admin

from disclosure.core.admin_site import ReadOnlyAdmin, admin_site

from .models import Dispute


@admin.register(Dispute, site=admin_site)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ["case", "subject", "status", "filed_at"]
    list_filter = ["status"]
    list_select_related = ["case"]
