from django.contrib import admin

from disclosure.accounts.admin_site import ReadOnlyAdmin, ReadOnlyCaseRecordAdmin, admin_site

from .models import CaseEvent, Checkpoint, CheckpointTimestamp


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


@admin.register(Checkpoint, site=admin_site)
class CheckpointAdmin(ReadOnlyAdmin):
    """Signed checkpoints, read-only (PostgreSQL refuses edits anyway)."""

    list_display = ["seq", "created_at", "case_count", "event_count", "short_root", "short_key"]
    ordering = ["-seq"]
    exclude = ["entries"]  # up to one row per case: too long for a page
    list_per_page = 50

    @admin.display(description="root")
    def short_root(self, obj: Checkpoint) -> str:
        return obj.root[:16]

    @admin.display(description="key")
    def short_key(self, obj: Checkpoint) -> str:
        return obj.public_key[:16]


@admin.register(CheckpointTimestamp, site=admin_site)
class CheckpointTimestampAdmin(ReadOnlyAdmin):
    """Checkpoints' RFC 3161 timestamps, read-only (PostgreSQL refuses edits anyway)."""

    list_display = ["checkpoint", "gen_time", "tsa_url", "recorded_at"]
    list_select_related = ["checkpoint"]
    ordering = ["-checkpoint__seq"]
    exclude = ["token"]  # DER bytes
    list_per_page = 50
