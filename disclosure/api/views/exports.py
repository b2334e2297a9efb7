"""A case's legal exports: request one (``request_export``: rendered in the
background), poll it, download its file (``record_download``: the download
is recorded in the ledger). For users who may export the case (legal,
lead, admin); others see no exports and may not ask for one."""

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from disclosure.cases import access
from disclosure.core.errors import NotFound
from disclosure.core.responses import sandbox_download
from disclosure.exports import selectors as export_selectors
from disclosure.exports import services as export_services
from disclosure.exports.models import CommunicationsMode, ExportFormat, ExportStatus, ExportVariant

from ..serializers.cases import _time
from ..serializers.common import UserRefSerializer, origin, user_ref
from .base import CaseScoped

CONTENT_TYPES = {ExportFormat.PDF: "application/pdf", ExportFormat.JSON: "application/json"}


class ExportRequestInput(serializers.Serializer):
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.PDF)
    variant = serializers.ChoiceField(choices=ExportVariant.choices, default=ExportVariant.FULL)
    communications = serializers.ChoiceField(
        choices=CommunicationsMode.choices, default=CommunicationsMode.FULL
    )


class ExportSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField(help_text="Absolute; poll it until status is done or failed.")
    format = serializers.ChoiceField(choices=ExportFormat.choices)
    variant = serializers.ChoiceField(choices=ExportVariant.choices)
    communications = serializers.ChoiceField(choices=CommunicationsMode.choices)
    status = serializers.ChoiceField(choices=ExportStatus.choices)
    progress = serializers.IntegerField(help_text="Percent done.")
    requested_by = UserRefSerializer()
    requested_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)
    error = serializers.CharField()
    sha256 = serializers.CharField(help_text="Of the file, once done.")
    size = serializers.IntegerField(allow_null=True)
    pages = serializers.IntegerField(allow_null=True)
    signed = serializers.BooleanField()
    download = serializers.URLField(allow_null=True, help_text="Absolute; once done.")

    def to_representation(self, e) -> dict[str, Any]:
        return export_data(e, base=origin(self.context.get("request")))


def export_data(e, *, base: str) -> dict[str, Any]:
    """An export as the API shows it; its URLs start with ``base``, the
    request's ``origin``."""
    url = f"{base}/api/v1/cases/{e.case.reference}/exports/{e.pk}/"
    return {
        "id": e.pk,
        "url": url,
        "format": e.format,
        "variant": e.variant,
        "communications": e.communications,
        "status": e.status,
        "progress": e.progress,
        "requested_by": user_ref(e.requested_by),
        "requested_at": _time(e.requested_at),
        "finished_at": _time(e.finished_at),
        "error": e.error,
        "sha256": e.sha256,
        "size": e.size,
        "pages": e.pages,
        "signed": e.signed,
        "download": f"{url}download/" if e.is_ready else None,
    }


class ExportList(mixins.ListModelMixin, CaseScoped):
    """The case's exports, newest first (none for those who may not export)."""

    shows_case = False
    serializer_class = ExportSerializer

    def get_queryset(self):
        return export_selectors.exports_for(self.request.user, self.get_case())

    def get(self, request, reference: str):
        return self.list(request)

    @extend_schema(request=ExportRequestInput, responses={202: ExportSerializer})
    def post(self, request, reference: str):
        """Ask for an export; 202 with it (queued): poll its url."""
        case = self.get_case()
        access.require(request.user, access.Action.EXPORT, case)
        serializer = ExportRequestInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        export = export_services.request_export(
            actor=request.user, case=case, **serializer.validated_data
        )
        export = export_selectors.export_for(request.user, case, export.pk)
        return Response(export_data(export, base=origin(request)), status=status.HTTP_202_ACCEPTED)


class ExportDetail(CaseScoped):
    shows_case = False
    serializer_class = ExportSerializer

    def get_export(self, export_id: int):
        export = export_selectors.export_for(self.request.user, self.get_case(), export_id)
        if export is None:
            raise NotFound("No such export.")
        return export

    @extend_schema(
        description="One export of the case (legal, leads and admins): its status and "
        "progress while it renders; once done, its SHA-256, size, pages, whether it is "
        "signed, and the absolute URL to download it. 404 for an export of another case "
        "or one the caller may not see."
    )
    def get(self, request, reference: str, export_id: int):
        return Response(export_data(self.get_export(export_id), base=origin(request)))


class ExportDownload(ExportDetail):
    """The export's file once done (409 before); the download is recorded."""

    @extend_schema(
        responses={
            (200, "application/pdf"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.BINARY,
        }
    )
    def get(self, request, reference: str, export_id: int):
        export, data = export_services.record_download(
            actor=request.user, export=self.get_export(export_id)
        )
        response = HttpResponse(data, content_type=CONTENT_TYPES[export.format])
        response["Content-Disposition"] = f'attachment; filename="{export.download_name}"'
        return sandbox_download(response)
