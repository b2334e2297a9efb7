"""A case's affected entities over the API: the counts at every level with
methods and both parties' claims (staff and the case's vendor, as far as
cases.visibility lets the vendor see), imports (staff who edit the case:
POST a file, GET its status and bad lines), count claims (staff as the
firm, the case's vendor contacts as the vendor)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from disclosure.affected import claims, importing, selectors
from disclosure.affected.models import AffectedImport
from disclosure.affected.tasks import run_import
from disclosure.cases import access
from disclosure.core.errors import NotFound

from ..serializers.affected import ClaimInput, ImportInput, ImportSerializer
from .base import CaseScoped, api_field_names


class AffectedCounts(CaseScoped):
    """GET: the counts, each level's method, the suffix list, the claims."""

    shows_case = False

    @extend_schema(responses={200: dict})
    def get(self, request, reference: str):
        case = self.get_case()
        return Response(selectors.counts_for(request.user, case).as_dict())


class AffectedImports(CaseScoped):
    """POST (multipart: file, format): start an import; 202 with its status
    (eager workers answer once it ran)."""

    shows_case = False
    parser_classes = [MultiPartParser]
    serializer_class = ImportSerializer

    @extend_schema(request=ImportInput, responses={202: ImportSerializer})
    def post(self, request, reference: str):
        case = self.get_case()
        access.require(request.user, importing.ACTION, case)
        body = ImportInput(data=request.data)
        body.is_valid(raise_exception=True)
        with api_field_names("affected_import"):
            batch = importing.start_import(
                actor=request.user, case=case, file=body.validated_data["file"],
                filename=body.validated_data["file"].name, format=body.validated_data["format"],
            )  # fmt: skip
        run_import.delay(batch.pk)
        batch.refresh_from_db()
        return Response(ImportSerializer(batch).data, status=status.HTTP_202_ACCEPTED)


class AffectedImportDetail(CaseScoped):
    """GET: one import's status, counts of lines and the first bad lines."""

    shows_case = False
    serializer_class = ImportSerializer

    def get(self, request, reference: str, import_id: int):
        case = self.get_case()
        if not access.can(request.user, access.Action.VIEW_INTERNAL, case):
            raise NotFound("No such import.")
        batch = AffectedImport.objects.filter(case=case, pk=import_id).first()
        if batch is None:
            raise NotFound("No such import.")
        return Response(ImportSerializer(batch).data)


class AffectedClaims(CaseScoped):
    """POST: file the caller's party's count at a level; 201 with the counts."""

    shows_case = False

    @extend_schema(request=ClaimInput, responses={201: dict})
    def post(self, request, reference: str):
        case = self.get_case()
        access.require(request.user, claims.ACTION, case)
        body = ClaimInput(data=request.data)
        body.is_valid(raise_exception=True)
        claims.file_count_claim(actor=request.user, case=case, **body.validated_data)
        data = selectors.counts_for(request.user, case).as_dict()
        return Response(data, status=status.HTTP_201_CREATED)
