"""Scanner intake: POST a finding, get its case (idempotent on source and
external id); GET the findings recorded (staff)."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response

from disclosure.intake import selectors as intake_selectors
from disclosure.intake import services as intake

from ..permissions import StaffOnly
from ..serializers.cases import case_data
from ..serializers.common import incoming_files, origin
from ..serializers.intake import FindingInput, FindingSerializer, SubmissionSerializer, finding_data
from ..serializers.records import evidence_data
from .base import api_field_names, case_for


class FindingList(generics.ListCreateAPIView):
    """Findings recorded by scanners, newest first."""

    serializer_class = FindingSerializer

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    def get_queryset(self):
        return intake_selectors.findings_for(self.request.user).order_by("-created_at", "-id")

    @extend_schema(
        request=FindingInput,
        responses={201: SubmissionSerializer, 200: SubmissionSerializer},
    )
    def post(self, request, *args, **kwargs):
        """Submit a finding: 201 with a new case at ``found``, or 200 with the
        case of the same (source, external id) and any evidence it added."""
        serializer = FindingInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = dict(serializer.validated_data)
        d["evidence"] = incoming_files(d["evidence"], "exposure_capture", keep_kind=True)
        with api_field_names("intake"):
            result = intake.submit_finding(actor=request.user, **d)
        case = case_for(request.user, result.case.reference)
        body = {
            "created": result.created,
            "finding": finding_data(result.finding),
            "case": case_data(case, internal=True, base=origin(request)),
            "attached": [evidence_data(f, base=origin(request)) for f in result.attached],
        }
        return Response(
            body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )
