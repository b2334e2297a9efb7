"""Bodies of the affected-entity endpoints (api.views.affected)."""

from rest_framework import serializers

from disclosure.affected.models import AffectedImport, Level


class ImportInput(serializers.Serializer):
    file = serializers.FileField()
    format = serializers.ChoiceField(choices=AffectedImport.Format.values)


class ClaimInput(serializers.Serializer):
    level = serializers.ChoiceField(choices=Level.values)
    count = serializers.IntegerField(min_value=0)
    method = serializers.CharField(max_length=2000)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    claimed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class ImportSerializer(serializers.ModelSerializer):
    class Meta:
        model = AffectedImport
        fields = [
            "id", "status", "format", "filename", "size", "sha256", "lines", "rows",
            "bad_lines", "errors", "message", "minimised", "event_seq", "created_at",
            "finished_at", "percent",
        ]  # fmt: skip
        read_only_fields = fields
