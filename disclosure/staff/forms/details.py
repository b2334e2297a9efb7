"""The case's descriptive fields: opening a case and editing its details."""

from typing import Any

from django import forms

from disclosure.accounts.selectors import staff_members, vendor_organizations
from disclosure.cases import choices
from disclosure.cases.details import DETAIL_FIELDS, clean_categories
from disclosure.cases.models import AssetKind, AssetProvider, DataCategory, Severity, Tlp
from disclosure.core.errors import ValidationFailed
from disclosure.evidence.models import EvidenceKind

from .base import (
    CaseForm,
    LocalDateTimeField,
    MultipleFileField,
    StaffForm,
    incoming,
    lines,
    shared_choice,
    time_zone_names,
    visibility_field,
)

COUNT = {"required": False, "min_value": 0}


def parse_records(text: str) -> dict[str, int]:
    """Lines 'kind: count' as a mapping; raises forms.ValidationError naming
    the first bad line. Thousands separators (1,000 or 1 000 or 1_000) are allowed."""
    out: dict[str, int] = {}
    for i, line in enumerate(lines(text), start=1):
        kind, sep, count = line.rpartition(":")
        digits = count.strip().replace(",", "").replace("_", "").replace(" ", "")
        if not sep or not kind.strip() or not digits.isdigit():
            raise forms.ValidationError(
                f"Line {i} ({line!r}) is not 'kind: count', e.g. 'emails: 335000'."
            )
        if kind.strip() in out:
            raise forms.ValidationError(f"Line {i}: {kind.strip()!r} is given twice.")
        out[kind.strip()] = int(digits)
    return out


def format_records(records: dict[str, int] | None) -> str:
    return "\n".join(f"{k}: {v}" for k, v in (records or {}).items())


class DataCategoriesField(forms.MultipleChoiceField):
    """The data categories as check boxes, validated by the service's rule
    (``cases.details.clean_categories``), so the error names every unknown
    value, as the API's does, not only the first."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=DataCategory.choices, **kwargs)

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        try:
            clean_categories(value)
        except ValidationFailed as e:
            raise forms.ValidationError(e.message, code="invalid_choice") from e


def detail_fields() -> dict[str, forms.Field]:
    """A fresh form field for every detail of a case (``DETAIL_FIELDS``)."""
    return {
        "title": forms.CharField(label="Title", max_length=300),
        "summary": forms.CharField(
            label="Summary", required=False, widget=forms.Textarea(attrs={"rows": 3})
        ),
        "vendor": forms.ModelChoiceField(
            label="Vendor", queryset=vendor_organizations(), empty_label="Choose the vendor"
        ),
        "asset_provider": forms.ChoiceField(label="Asset provider", choices=AssetProvider.choices),
        "asset_kind": forms.ChoiceField(label="Asset kind", choices=AssetKind.choices),
        "asset_identifier": forms.CharField(
            label="Asset URL or identifier",
            max_length=1000,
            help_text="e.g. https://account.blob.core.windows.net/container",
        ),
        "asset_region": forms.CharField(label="Asset region", required=False, max_length=100),
        "how_found": forms.CharField(
            label="How it was found", widget=forms.Textarea(attrs={"rows": 3})
        ),
        "data_categories": DataCategoriesField(
            label="Data categories", required=False, widget=forms.CheckboxSelectMultiple
        ),
        "data_categories_other": forms.CharField(
            label="Other data",
            required=False,
            max_length=500,
            help_text='With "Other": what the data is.',
        ),
        "volume_bytes": forms.IntegerField(label="Volume (bytes)", **COUNT),
        "volume_objects": forms.IntegerField(label="Volume (objects)", **COUNT),
        "records_by_kind": forms.CharField(
            label="Records by kind",
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="One 'kind: count' per line, e.g. 'emails: 335000'.",
        ),
        "data_from": forms.DateField(
            label="Data from", required=False, widget=forms.DateInput(attrs={"type": "date"})
        ),
        "data_to": forms.DateField(
            label="Data to", required=False, widget=forms.DateInput(attrs={"type": "date"})
        ),
        "affected_entity_count": forms.IntegerField(label="Affected entities", **COUNT),
        "affected_country_count": forms.IntegerField(label="Affected countries", **COUNT),
        "severity": forms.ChoiceField(
            label="Severity", choices=Severity.choices, initial=Severity.MEDIUM
        ),
        "tlp": forms.ChoiceField(label="TLP", choices=Tlp.choices, initial=Tlp.AMBER),
        "time_zone": forms.ChoiceField(
            label="Case time zone",
            choices=[(z, z) for z in time_zone_names()],
            initial="UTC",
            help_text="Times of this case are entered and shown in this zone.",
        ),
        "policy": forms.ModelChoiceField(
            label="Disclosure policy", queryset=choices.disclosure_policies()
        ),
        "assignee": forms.ModelChoiceField(
            label="Assignee",
            queryset=staff_members(),
            required=False,
            empty_label="Nobody yet",
        ),
    }


assert set(detail_fields()) == set(DETAIL_FIELDS)


def clean_records_field(form: forms.Form) -> dict[str, int]:
    return parse_records(form.cleaned_data.get("records_by_kind", ""))


# What the new-case form asks (the rest can be edited later).
NEW_CASE_FIELDS = (
    "vendor", "title", "summary", "asset_provider", "asset_kind", "asset_identifier",
    "asset_region", "how_found", "time_zone", "data_categories", "data_categories_other",
    "volume_bytes", "volume_objects", "records_by_kind", "severity", "tlp", "policy", "assignee",
)  # fmt: skip
EXPOSURE_KINDS = [
    (EvidenceKind.EXPOSURE_CAPTURE.value, EvidenceKind.EXPOSURE_CAPTURE.label),
    (EvidenceKind.SCREENSHOT.value, EvidenceKind.SCREENSHOT.label),
]


class NewCaseForm(StaffForm):
    """Open a case at stage found (``services.open_case``). The discovery
    time is read in the time zone chosen for the case (UTC by default)."""

    field_aliases = {
        "occurred_at": "found_at",
        "file": "exposure_evidence",
        "kind": "evidence_kind",
    }

    def __init__(self, data=None, files=None, **kwargs: Any) -> None:
        super().__init__(data, files, **kwargs)
        all_fields = detail_fields()
        fields = {name: all_fields[name] for name in NEW_CASE_FIELDS}
        policy = fields["policy"]
        policy.required = False
        policy.empty_label = "Default policy"
        tz_name = "UTC"
        if data is not None and data.get("time_zone") in dict(fields["time_zone"].choices):
            tz_name = data["time_zone"]
        fields["found_at"] = LocalDateTimeField(
            label="Found at",
            tz_name=tz_name,
            help_text="Read in the case time zone chosen above (UTC unless you change it).",
        )
        fields["exposure_evidence"] = MultipleFileField(
            label="Exposure evidence",
            help_text="One or more files: the capture or screenshot that shows the exposure.",
        )
        fields["evidence_kind"] = forms.ChoiceField(
            label="Evidence kind", choices=EXPOSURE_KINDS, initial=EvidenceKind.EXPOSURE_CAPTURE
        )
        order = [*NEW_CASE_FIELDS[:9], "found_at", *NEW_CASE_FIELDS[9:]]
        fields["evidence_visibility"] = visibility_field(EvidenceKind.EXPOSURE_CAPTURE)
        order += ["exposure_evidence", "evidence_kind", "evidence_visibility"]
        self.fields = {name: fields[name] for name in order}

    def clean_records_by_kind(self) -> dict[str, int]:
        return clean_records_field(self)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        shared = shared_choice(data.pop("evidence_visibility"))
        files = incoming(data.pop("exposure_evidence"), data.pop("evidence_kind"), shared)
        if data.get("policy") is None:
            data.pop("policy", None)
        return {**data, "exposure_evidence": files}


class UpdateDetailsForm(CaseForm):
    """Edit the case's details (``services.update_details``); only changed
    values are recorded."""

    def __init__(self, data=None, files=None, *, case, user, **kwargs: Any) -> None:
        super().__init__(data, files, case=case, user=user, **kwargs)
        self.fields.update(detail_fields())
        if case.vendor_notified_at is not None:
            self.fields["vendor"].disabled = True
            self.fields["vendor"].help_text = "The vendor cannot change once notified."
        self.initial = {
            **{name: getattr(case, name) for name in DETAIL_FIELDS},
            "records_by_kind": format_records(case.records_by_kind),
            **self.initial,
        }

    def clean_records_by_kind(self) -> dict[str, int]:
        return clean_records_field(self)

    def service_kwargs(self) -> dict[str, Any]:
        return {"changes": dict(self.cleaned_data)}
