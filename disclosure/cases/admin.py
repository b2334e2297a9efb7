"""Admin for cases: details are edited through the update_details service
and policies through edit_policy (so every edit is in the ledger, and a
policy's new terms on each open case under it); stage and stage times are
read-only here."""

from django import forms
from django.contrib import admin, messages

from disclosure.accounts.admin_site import ReadOnlyCaseRecordAdmin, RoleAdmin, admin_site
from disclosure.core.errors import DomainError

from .details import DETAIL_FIELDS, clean_details
from .models import Case, DisclosurePolicy, Escalation
from .services import edit_policy, update_details

_STATE_FIELDS = [
    "reference",
    "stage",
    "found_at",
    "vendor_notified_at",
    "vendor_acknowledged_at",
    "secured_at",
    "data_deleted_at",
    "published_at",
    "closed_at",
    "publication_url",
    "publication_title",
    "close_reason",
    "legal_hold",
    "follows_up",
    "created_at",
    "updated_at",
]


class CaseAdminForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = list(DETAIL_FIELDS)

    def clean(self):
        data = super().clean()
        changed = {k: data[k] for k in self.changed_data if k in DETAIL_FIELDS and k in data}
        try:
            self.detail_changes = clean_details(changed, current=self.instance)
        except DomainError as exc:
            raise forms.ValidationError(
                {exc.field: exc.message} if exc.field in self.fields else exc.message
            ) from exc
        return data


@admin.register(DisclosurePolicy, site=admin_site)
class DisclosurePolicyAdmin(RoleAdmin):
    list_display = [
        "name",
        "days_to_acknowledge",
        "days_to_secure",
        "days_to_publish",
        "grace_days",
        "business_days",
    ]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Policies in use are protected by the database; unused ones may go.
        return super().has_delete_permission(request, obj) and not (obj and obj.cases.exists())

    def save_model(self, request, obj, form, change) -> None:
        if not change:  # a new policy has no cases yet
            super().save_model(request, obj, form, change)
            return
        changes = {k: form.cleaned_data[k] for k in form.changed_data if k in form.cleaned_data}
        if not changes:
            return
        try:  # its open cases get the new terms, each with an event
            edit_policy(actor=request.user, policy=obj, changes=changes)
        except DomainError as exc:  # nothing was written
            messages.error(request, exc.message)


@admin.register(Case, site=admin_site)
class CaseAdmin(RoleAdmin):
    form = CaseAdminForm
    view_on_site = False
    list_display = ["reference", "title", "vendor", "stage", "found_at", "severity", "legal_hold"]
    list_filter = ["stage", "severity", "tlp", "legal_hold", "vendor"]
    list_select_related = ["vendor"]
    search_fields = ["reference", "title", "asset_identifier"]
    readonly_fields = _STATE_FIELDS
    autocomplete_fields = ["vendor", "assignee"]
    list_per_page = 50
    fieldsets = [
        (
            "Case",
            {
                "fields": [
                    "reference",
                    "stage",
                    "title",
                    "summary",
                    "vendor",
                    "assignee",
                    "policy",
                    "severity",
                    "tlp",
                    "time_zone",
                    "legal_hold",
                ]
            },
        ),
        (
            "Asset",
            {
                "fields": [
                    "asset_provider",
                    "asset_kind",
                    "asset_identifier",
                    "asset_region",
                    "how_found",
                ]
            },
        ),
        (
            "Data",
            {
                "fields": [
                    "data_categories",
                    "volume_bytes",
                    "volume_objects",
                    "records_by_kind",
                    "data_from",
                    "data_to",
                    "affected_entity_count",
                    "affected_country_count",
                ]
            },
        ),
        (
            "Timeline",
            {
                "fields": [
                    "found_at",
                    "vendor_notified_at",
                    "vendor_acknowledged_at",
                    "secured_at",
                    "data_deleted_at",
                    "published_at",
                    "closed_at",
                    "publication_url",
                    "publication_title",
                    "close_reason",
                    "follows_up",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def has_add_permission(self, request) -> bool:
        # A case opens with evidence of the exposure, through the case services.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the ledger protects every case; cases are closed, not deleted

    def save_model(self, request, obj, form, change) -> None:
        changes = getattr(form, "detail_changes", {})
        if not changes:
            return
        try:
            update_details(actor=request.user, case=obj, changes=changes)
        except DomainError as exc:  # raced with another edit; nothing was written
            messages.error(request, exc.message)


@admin.register(Escalation, site=admin_site)
class EscalationAdmin(ReadOnlyCaseRecordAdmin):
    list_display = ["case_reference", "target", "organization", "their_reference", "escalated_at"]
    list_filter = ["target"]
    list_select_related = ["case"]
