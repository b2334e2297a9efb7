"""Scanner findings: what a scanner posts and what it gets back."""

from typing import Any

from rest_framework import serializers

from disclosure.accounts.selectors import vendor_organizations
from disclosure.cases.models import AssetKind, AssetProvider, Severity, Tlp

from .cases import CaseSerializer, _time
from .common import MAX_COUNT, CategoriesField, FileSerializer, pk_field, text
from .records import EvidenceSerializer


class FindingInput(serializers.Serializer):
    """A finding. (``source``, ``external_id``) identify it: a repeat returns
    the same case and adds the evidence it does not hold yet."""

    source = serializers.CharField(max_length=100, help_text="The scanner or tool.")
    external_id = serializers.CharField(max_length=200, help_text="The finding's id there.")
    vendor = pk_field(vendor_organizations(), help_text="Id of the vendor organization.")
    title = serializers.CharField(max_length=300)
    asset_provider = serializers.ChoiceField(choices=AssetProvider.choices)
    asset_kind = serializers.ChoiceField(choices=AssetKind.choices)
    asset_identifier = serializers.CharField(max_length=1000)
    asset_region = text(max_length=100)
    how_found = text(help_text="Default: reported by the scanner, with the finding's id.")
    found_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    data_categories = CategoriesField(required=False, default=list)
    volume_bytes = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                            max_value=MAX_COUNT)  # fmt: skip
    volume_objects = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                              max_value=MAX_COUNT)  # fmt: skip
    records_by_kind = serializers.DictField(
        child=serializers.IntegerField(min_value=0, max_value=MAX_COUNT),
        required=False,
        default=dict,
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    tlp = serializers.ChoiceField(choices=Tlp.choices, required=False)
    evidence = FileSerializer(
        many=True,
        allow_empty=False,
        help_text="Captured evidence; kind defaults to exposure_capture. The first "
        "submission needs at least one capture or screenshot.",
    )


class FindingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    external_id = serializers.CharField()
    case = serializers.CharField(help_text="The case's reference.")
    submissions = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    last_submitted_at = serializers.DateTimeField()

    def to_representation(self, f) -> dict[str, Any]:
        return finding_data(f)


def finding_data(f) -> dict[str, Any]:
    return {
        "id": f.pk,
        "source": f.source,
        "external_id": f.external_id,
        "case": f.case.reference,
        "submissions": f.submissions,
        "created_at": _time(f.created_at),
        "last_submitted_at": _time(f.last_submitted_at),
    }


class SubmissionSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="False for a repeat of a known finding.")
    finding = FindingSerializer()
    case = CaseSerializer()
    attached = EvidenceSerializer(many=True, help_text="Evidence this submission added.")
