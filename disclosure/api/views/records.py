"""A case's records: its ledger events, communications, evidence (upload
and download), disputes, escalations and deletion attestation. Lists show
what the caller may read (selectors.*_for); posting one runs the action
that writes it."""

import logging

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from disclosure.cases import selectors
from disclosure.core.errors import NotFound
from disclosure.core.responses import sandbox_download
from disclosure.evidence.downloads import open_download

from ..pagination import CommunicationCursorPagination, EventCursorPagination
from ..serializers.actions import (
    ActionResultSerializer,
    AttachEvidenceInput,
    EscalateInput,
    FileDisputeInput,
    LogCommunicationInput,
)
from ..serializers.records import (
    EVENT_ROW_VALUES,
    VENDOR_EVENT_ROW_VALUES,
    AttestationSerializer,
    CommunicationSerializer,
    DisputeSerializer,
    EscalationSerializer,
    EventSerializer,
    EvidenceSerializer,
    event_data,
)
from .base import CaseScoped, reads_internal, run_action

logger = logging.getLogger(__name__)


class CaseRecordList(mixins.ListModelMixin, CaseScoped):
    """GET: the case's records of one kind as the caller may read them;
    POST (on some): the action that adds one."""

    shows_case = False

    def rows(self):
        raise NotImplementedError

    def get_queryset(self):
        return self.rows()

    def get(self, request, reference: str):
        return self.list(request)


def _post(action: str, input_class):
    @extend_schema(request=input_class, responses={201: ActionResultSerializer})
    def post(self, request, reference: str):
        return run_action(self, action, input_class)

    post.__doc__ = f"Runs the {action} action (see /actions/{action}/)."
    return post


class EventList(CaseRecordList):
    """The case's ledger, in seq order, as the caller may read it (vendor
    contacts: the vendor-visible events and payload keys only)."""

    serializer_class = EventSerializer
    pagination_class = EventCursorPagination

    def rows(self):
        # The page is one query, visibility included; the case is not loaded.
        return selectors.events_by_reference(self.request.user, self.kwargs["reference"])

    def paginate_queryset(self, queryset):
        # A page is read as the values an event shows (no model instances).
        names = EVENT_ROW_VALUES if reads_internal(self.request) else VENDOR_EVENT_ROW_VALUES
        page = super().paginate_queryset(queryset.values(*names))
        if not page:
            self.get_case()  # a case the caller may not see is a 404, not an empty page
        return page

    def list(self, request):
        # A page's rows are written by event_data (what EventSerializer
        # declares for the schema), without a serializer per request.
        page = self.paginate_queryset(self.get_queryset())
        internal = reads_internal(request)
        return self.get_paginated_response([event_data(e, internal=internal) for e in page])


class CommunicationList(CaseRecordList):
    """The case's communications, oldest first (vendor contacts never see
    internal notes)."""

    serializer_class = CommunicationSerializer
    pagination_class = CommunicationCursorPagination
    post = _post("log_communication", LogCommunicationInput)

    def rows(self):
        case = self.get_case()
        # The serializer writes download links with the case's reference.
        rows = selectors.communications_for(self.request.user, case).select_related("case")
        return rows.select_related("outbox") if reads_internal(self.request) else rows


class EvidenceList(CaseRecordList):
    """The case's evidence files; POST uploads one (multipart), answered
    with its SHA-256 as the server computed it."""

    serializer_class = EvidenceSerializer
    parser_classes = [MultiPartParser]
    post = _post("attach_evidence", AttachEvidenceInput)

    def rows(self):
        case = self.get_case()
        return selectors.evidence_for(self.request.user, case).select_related("case")


class EvidenceDownload(CaseScoped):
    """The file's content, as an attachment, with its detected content type
    and ``nosniff``."""

    shows_case = False

    # The file's own detected type (a PNG capture, a text listing, ...):
    # any content type, application/octet-stream when none was detected.
    @extend_schema(responses={(200, "*/*"): OpenApiTypes.BINARY})
    def get(self, request, reference: str, evidence_id: int):
        """The download is recorded in the case's ledger (internal event)."""
        download = open_download(
            actor=request.user, case=self.get_case(), evidence_id=evidence_id, via="api"
        )
        evidence = download.evidence
        response = FileResponse(
            download.stream,
            as_attachment=True,
            filename=evidence.original_name,
            content_type=evidence.content_type or "application/octet-stream",
        )
        return sandbox_download(response)


class DisputeList(CaseRecordList):
    """The case's disputes, both positions with their provenance."""

    serializer_class = DisputeSerializer
    post = _post("file_dispute", FileDisputeInput)

    def rows(self):
        return selectors.disputes_for(self.request.user, self.get_case())


class EscalationList(CaseRecordList):
    """The case's escalations (internal to the firm: none for vendor contacts)."""

    serializer_class = EscalationSerializer
    post = _post("escalate", EscalateInput)

    def rows(self):
        return selectors.escalations_for(self.request.user, self.get_case())


class AttestationDetail(CaseScoped):
    """The case's deletion attestation (404 when there is none)."""

    shows_case = False

    serializer_class = AttestationSerializer

    def get(self, request, reference: str):
        attestation = selectors.attestation_for(request.user, self.get_case())
        if attestation is None:
            raise NotFound(f"{reference} has no deletion attestation.")
        return Response(self.get_serializer(attestation).data)
