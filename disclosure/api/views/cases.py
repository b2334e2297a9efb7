"""Cases: list (filters, ordering, pages), open (``open_case``), read, and
edit details (``update_details``)."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from disclosure.cases import access, selectors, services

from ..filters import CaseFilter
from ..pagination import PageWithoutCount
from ..serializers.actions import ActionResultSerializer, UpdateDetailsInput
from ..serializers.cases import (
    CASE_ROW_VALUES,
    CaseCreateSerializer,
    CaseDetailSerializer,
    CaseSerializer,
    case_data,
)
from ..serializers.common import incoming_files, origin
from .base import CaseScoped, api_field_names, case_for, reads_internal, run_action


class CaseList(generics.ListCreateAPIView):
    """The cases the caller may see (vendor contacts: their organizations'
    cases from notification on), newest found first."""

    serializer_class = CaseSerializer
    pagination_class = PageWithoutCount
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter

    def get_queryset(self):
        return selectors.case_list(self.request.user)

    def paginate_queryset(self, queryset):
        # Filtered and ordered, a page is read as the values a row shows
        # (their joins, nothing else; no model instances).
        return super().paginate_queryset(queryset.values(*CASE_ROW_VALUES))

    def filter_queryset(self, queryset):
        """The filters when any is given (building the filter set and its
        form costs a few milliseconds), else the default order."""
        params = self.request.query_params
        if any(name in params for name in CaseFilter.base_filters):
            return super().filter_queryset(queryset)
        return queryset.order_by("-found_at", "-pk")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "internal": reads_internal(self.request)}

    @extend_schema(request=CaseCreateSerializer, responses={201: CaseSerializer})
    def post(self, request, *args, **kwargs):
        """Open a case at ``found`` (``open_case``): staff who may open cases."""
        access.require(request.user, access.Action.OPEN_CASE)
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = dict(serializer.validated_data)
        d["exposure_evidence"] = incoming_files(
            d["exposure_evidence"], "exposure_capture", keep_kind=True
        )
        with api_field_names("open_case"):
            case = services.open_case(actor=request.user, **d)
        case = case_for(request.user, case.reference)
        return Response(
            case_data(case, internal=True, base=origin(request)), status=status.HTTP_201_CREATED
        )


class CaseDetail(CaseScoped):
    serializer_class = CaseDetailSerializer

    def get(self, request, reference: str):
        return Response(self.get_serializer(self.get_case()).data)

    @extend_schema(request=UpdateDetailsInput, responses={200: ActionResultSerializer})
    def patch(self, request, reference: str):
        """Change details (``update_details``): only the fields given. Answers
        like the update_details action, with the event appended (200)."""
        return run_action(
            self, "update_details", UpdateDetailsInput, status_code=status.HTTP_200_OK
        )
