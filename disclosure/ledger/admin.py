from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, admin_site

from .models import CaseEvent


@admin.register(CaseEvent, site=admin_site)
class CaseEventAdmin(ReadOnlyCaseRecordAdmin):
    """The ledger, read-only for everyone (PostgreSQL refuses edits anyway)."""

    list_display = [
        "case_reference",
        "seq",
        "kind",
        "occurred_at",
        "recorded_at",
        "actor_name",
        "short_hash",
    ]
    list_filter = ["kind"]
    list_select_related = ["case"]
    search_fields = ["case__reference", "hash"]
    ordering = ["case__reference", "seq"]
    list_per_page = 100

    @admin.display(description="actor")
    def actor_name(self, obj: CaseEvent) -> str:
        return obj.actor_snapshot.get("name") or obj.actor_snapshot.get("username") or "—"

    @admin.display(description="hash")
    def short_hash(self, obj: CaseEvent) -> str:
        return obj.hash[:16]
