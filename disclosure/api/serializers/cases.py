"""Cases as the API shows and takes them.

A case reads the same for everyone in its vendor-visible fields (the
declaration in cases/visibility.py); the firm's own fields are in
``internal``, which is null for vendor contacts. Rows are written out by
hand (``case_data``): the declared fields are the schema, and a list of a
hundred cases costs no per-field serializer machinery.
"""

from typing import Any

from rest_framework import serializers

from disclosure.accounts.selectors import staff_members, vendor_organizations
from disclosure.cases import selectors, vendor_view
from disclosure.cases.models import (
    AssetKind,
    AssetProvider,
    Case,
    DisclosurePolicy,
    Severity,
    Tlp,
)
from disclosure.cases.stages import CloseReason, Stage
from disclosure.core.timeutils import now

from .common import (
    MAX_COUNT,
    CategoriesField,
    FileSerializer,
    RefSerializer,
    UserRefSerializer,
    origin,
    pk_field,
    text,
)


class CaseInternalSerializer(serializers.Serializer):
    how_found = serializers.CharField()
    severity = serializers.ChoiceField(choices=Severity.choices)
    time_zone = serializers.CharField()
    assignee = UserRefSerializer(allow_null=True)
    legal_hold = serializers.BooleanField()
    ledger_seq = serializers.IntegerField()
    ledger_head = serializers.CharField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CaseSerializer(serializers.Serializer):
    reference = serializers.CharField()
    url = serializers.URLField(help_text="This case in the API (absolute).")
    title = serializers.CharField()
    summary = serializers.CharField()
    vendor = RefSerializer()
    asset_provider = serializers.ChoiceField(choices=AssetProvider.choices)
    asset_kind = serializers.ChoiceField(choices=AssetKind.choices)
    asset_identifier = serializers.CharField()
    asset_region = serializers.CharField()
    data_categories = serializers.ListField(child=serializers.CharField())
    data_categories_other = serializers.CharField(help_text='What the "other" data is.')
    volume_bytes = serializers.IntegerField(allow_null=True)
    volume_objects = serializers.IntegerField(allow_null=True)
    records_by_kind = serializers.DictField(child=serializers.IntegerField())
    data_from = serializers.DateField(allow_null=True)
    data_to = serializers.DateField(allow_null=True)
    affected_entity_count = serializers.IntegerField(allow_null=True)
    affected_country_count = serializers.IntegerField(allow_null=True)
    tlp = serializers.ChoiceField(choices=Tlp.choices)
    policy = RefSerializer()
    stage = serializers.ChoiceField(choices=Stage.choices)
    found_at = serializers.DateTimeField()
    vendor_notified_at = serializers.DateTimeField(allow_null=True)
    vendor_acknowledged_at = serializers.DateTimeField(allow_null=True)
    secured_at = serializers.DateTimeField(allow_null=True)
    data_deleted_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    publication_url = serializers.CharField()
    publication_title = serializers.CharField()
    close_reason = serializers.CharField(help_text="Empty while open.")
    follows_up = serializers.CharField(allow_null=True, help_text="Reference of the earlier case.")
    internal = CaseInternalSerializer(
        allow_null=True, help_text="The firm's own fields; null for vendor contacts."
    )

    def to_representation(self, case: Case | dict) -> dict[str, Any]:
        internal = self.context.get("internal", False)
        base = origin(self.context.get("request"))
        if isinstance(case, dict):
            return case_row_data(case, internal=internal, base=base)
        return case_data(case, internal=internal, base=base)


class DeadlineSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=[("acknowledge", "acknowledge"), ("secure", "secure"),
                                           ("publish", "publish")])  # fmt: skip
    label = serializers.CharField()
    due = serializers.DateTimeField()
    met_at = serializers.DateTimeField(allow_null=True)
    status = serializers.ChoiceField(
        choices=[(s, s) for s in ("met", "met late", "overdue", "open", "not met")]
    )


class CaseDetailSerializer(CaseSerializer):
    """A case on its own: also its policy's deadlines (counted from the
    vendor's notification; none before it) and its follow-up cases."""

    deadlines = DeadlineSerializer(many=True)
    follow_ups = serializers.ListField(
        child=serializers.CharField(), help_text="References of the visible follow-up cases."
    )

    def to_representation(self, case: Case) -> dict[str, Any]:
        data = case_data(
            case,
            internal=self.context.get("internal", False),
            base=origin(self.context.get("request")),
        )
        data["deadlines"] = [
            {"key": d.key, "label": d.label, "due": _time(d.due), "met_at": _time(d.met_at),
             "status": d.status}
            for d in vendor_view.due_rows(case, now())
        ]  # fmt: skip
        follow_ups = (
            selectors.follow_ups_for(self.context["request"].user, case)
            if self.context.get("internal", False)
            else vendor_view.follow_ups(case)  # the vendor's own, notified
        )
        data["follow_ups"] = list(follow_ups.values_list("reference", flat=True))
        return data


def _time(value) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _date(value) -> str | None:
    return value.isoformat() if value is not None else None


def case_data(case: Case, *, internal: bool, base: str) -> dict[str, Any]:
    """The case as the API shows it; ``internal`` adds the firm's fields;
    ``base``: the request's ``origin``, which its URL starts with.
    Reads vendor, policy (and for internal, assignee) from the row's joins."""
    data = {
        "reference": case.reference,
        "url": f"{base}/api/v1/cases/{case.reference}/",
        "title": case.title,
        "summary": case.summary,
        "vendor": {"id": case.vendor_id, "name": case.vendor.name},
        "asset_provider": case.asset_provider,
        "asset_kind": case.asset_kind,
        "asset_identifier": case.asset_identifier,
        "asset_region": case.asset_region,
        "data_categories": case.data_categories,
        "data_categories_other": case.data_categories_other,
        "volume_bytes": case.volume_bytes,
        "volume_objects": case.volume_objects,
        "records_by_kind": case.records_by_kind,
        "data_from": _date(case.data_from),
        "data_to": _date(case.data_to),
        "affected_entity_count": case.affected_entity_count,
        "affected_country_count": case.affected_country_count,
        "tlp": case.tlp,
        "policy": {"id": case.policy_id, "name": case.policy.name},
        "stage": case.stage,
        "found_at": _time(case.found_at),
        "vendor_notified_at": _time(case.vendor_notified_at),
        "vendor_acknowledged_at": _time(case.vendor_acknowledged_at),
        "secured_at": _time(case.secured_at),
        "data_deleted_at": _time(case.data_deleted_at),
        "published_at": _time(case.published_at),
        "closed_at": _time(case.closed_at),
        "publication_url": case.publication_url,
        "publication_title": case.publication_title,
        "close_reason": case.close_reason,
        "follows_up": (
            (case.follows_up.reference if case.follows_up_id else None)
            if internal
            else vendor_view.shared_follows_up(case)
        ),
        "internal": None,
    }
    if internal:
        assignee = case.assignee
        data["internal"] = {
            "how_found": case.how_found,
            "severity": case.severity,
            "time_zone": case.time_zone,
            "assignee": (
                {
                    "id": assignee.pk,
                    "username": assignee.get_username(),
                    "name": assignee.display_name(),
                }
                if assignee is not None
                else None
            ),
            "legal_hold": case.legal_hold,
            "ledger_seq": case.ledger_seq,
            "ledger_head": case.ledger_head,
            "created_at": _time(case.created_at),
            "updated_at": _time(case.updated_at),
        }
    return data


# The columns a case row shows, read with ``QuerySet.values`` (a page of
# cases builds no model instances): ``case_row_data`` writes one out.
CASE_ROW_VALUES = (
    "reference", "title", "summary", "vendor_id", "vendor__name", "asset_provider",
    "asset_kind", "asset_identifier", "asset_region", "data_categories",
    "data_categories_other", "volume_bytes",
    "volume_objects", "records_by_kind", "data_from", "data_to", "affected_entity_count",
    "affected_country_count", "tlp", "policy_id", "policy__name", "stage", "found_at",
    "vendor_notified_at", "vendor_acknowledged_at", "secured_at", "data_deleted_at",
    "published_at", "closed_at", "publication_url", "publication_title", "close_reason",
    "follows_up__reference", "follows_up__vendor_id", "follows_up__vendor_notified_at",
    "how_found", "severity", "time_zone", "assignee_id",
    "assignee__username", "assignee__first_name", "assignee__last_name", "legal_hold",
    "ledger_seq", "ledger_head", "created_at", "updated_at",
)  # fmt: skip
_PLAIN = (
    "reference", "title", "summary", "asset_provider", "asset_kind", "asset_identifier",
    "asset_region", "data_categories", "data_categories_other", "volume_bytes",
    "volume_objects", "records_by_kind",
    "affected_entity_count", "affected_country_count", "tlp", "stage", "publication_url",
    "publication_title", "close_reason",
)  # fmt: skip
_TIMES = (
    "found_at", "vendor_notified_at", "vendor_acknowledged_at", "secured_at",
    "data_deleted_at", "published_at", "closed_at",
)  # fmt: skip


def case_row_data(row: dict[str, Any], *, internal: bool, base: str) -> dict[str, Any]:
    """A row of CASE_ROW_VALUES as the API shows the case (as ``case_data``)."""
    data: dict[str, Any] = {k: row[k] for k in _PLAIN}
    data["url"] = f"{base}/api/v1/cases/{row['reference']}/"
    data["vendor"] = {"id": row["vendor_id"], "name": row["vendor__name"]}
    data["policy"] = {"id": row["policy_id"], "name": row["policy__name"]}
    data["data_from"] = _date(row["data_from"])
    data["data_to"] = _date(row["data_to"])
    for k in _TIMES:
        data[k] = _time(row[k])
    data["follows_up"] = (
        row["follows_up__reference"]
        if internal
        else vendor_view.shared_reference(
            vendor_id=row["vendor_id"],
            reference=row["follows_up__reference"],
            its_vendor_id=row["follows_up__vendor_id"],
            its_notified_at=row["follows_up__vendor_notified_at"],
        )
    )
    data["internal"] = None
    if internal:
        assignee = None
        if row["assignee_id"] is not None:
            full = f"{row['assignee__first_name']} {row['assignee__last_name']}".strip()
            assignee = {
                "id": row["assignee_id"],
                "username": row["assignee__username"],
                "name": full or row["assignee__username"],
            }
        data["internal"] = {
            "how_found": row["how_found"],
            "severity": row["severity"],
            "time_zone": row["time_zone"],
            "assignee": assignee,
            "legal_hold": row["legal_hold"],
            "ledger_seq": row["ledger_seq"],
            "ledger_head": row["ledger_head"],
            "created_at": _time(row["created_at"]),
            "updated_at": _time(row["updated_at"]),
        }
    return data


def _details_fields(*, partial: bool) -> dict[str, serializers.Field]:
    """Input fields of a case's details (DETAIL_FIELDS): shape only; the
    services check the rest (lengths, ranges, dates, who may be assigned)."""
    req = {"required": not partial}
    count = {"required": False, "allow_null": True, "min_value": 0, "max_value": MAX_COUNT}
    return {
        "title": serializers.CharField(max_length=300, **req),
        "summary": text(),
        "vendor": pk_field(vendor_organizations(), **req),
        "asset_provider": serializers.ChoiceField(choices=AssetProvider.choices, **req),
        "asset_kind": serializers.ChoiceField(choices=AssetKind.choices, **req),
        "asset_identifier": serializers.CharField(max_length=1000, **req),
        "asset_region": text(max_length=100),
        "how_found": serializers.CharField(**req),
        "data_categories": CategoriesField(required=False),
        "data_categories_other": text(
            max_length=500, help_text='What the "other" data is (required with "other").'
        ),
        "volume_bytes": serializers.IntegerField(**count),
        "volume_objects": serializers.IntegerField(**count),
        "records_by_kind": serializers.DictField(
            child=serializers.IntegerField(min_value=0, max_value=MAX_COUNT), required=False
        ),
        "data_from": serializers.DateField(required=False, allow_null=True),
        "data_to": serializers.DateField(required=False, allow_null=True),
        "affected_entity_count": serializers.IntegerField(**count),
        "affected_country_count": serializers.IntegerField(**count),
        "severity": serializers.ChoiceField(choices=Severity.choices, required=False),
        "tlp": serializers.ChoiceField(choices=Tlp.choices, required=False),
        "time_zone": serializers.CharField(max_length=64, required=False),
        "policy": pk_field(DisclosurePolicy.objects.all(), required=False),
        "assignee": pk_field(staff_members(), required=False, allow_null=True),
    }


class CaseCreateSerializer(serializers.Serializer):
    """A new case (``open_case``): the asset, how it was found, when, and at
    least one capture or screenshot as exposure evidence."""

    found_at = serializers.DateTimeField()
    exposure_evidence = FileSerializer(
        many=True,
        allow_empty=False,
        help_text="At least one file of kind exposure_capture or screenshot.",
    )

    def get_fields(self):
        return {**_details_fields(partial=False), **super().get_fields()}


class CaseUpdateSerializer(serializers.Serializer):
    """Changed details (``update_details``): only the fields given change."""

    def get_fields(self):
        return _details_fields(partial=True)

    def validate(self, attrs):
        if not attrs:
            raise serializers.ValidationError("Give at least one field to change.")
        return attrs


CLOSE_REASONS = CloseReason.choices
