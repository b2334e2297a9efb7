"""Mail beside the case's messages, through the same services as the staff
UI and the portal:

- ``me/mail-settings/``: the caller's choice of a mail per notice or a daily
  digest (comms.preferences.set_mail_delivery; staff and vendor contacts);
- ``cases/{reference}/watch/``: whether the caller watches the case, who
  does, and starting or stopping (comms.preferences.watch_case; staff who
  may read the case's internal records: a vendor contact gets 403 on its own
  case and 404 on another's);
- ``mail/triage/``: received mail that matched no case (staff only), one
  message with its headers and text, and the three decisions of
  comms.triage: attach to a case, open a new case from it, discard
  (analysts, leads and admins; 403 for the others, 409 once handled).
"""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure.cases import access, selectors
from disclosure.comms import preferences, triage
from disclosure.comms.models import InboundMessage
from disclosure.core.errors import NotFound, ValidationFailed

from ..pagination import PageNumberPagination
from ..permissions import StaffOnly
from ..serializers.cases import CaseCreateSerializer, CaseSerializer, case_data
from ..serializers.common import incoming_files, origin
from ..serializers.mailbox import (
    INBOUND_ROW_VALUES,
    AttachInput,
    DiscardInput,
    InboundMessageDetailSerializer,
    InboundMessageSerializer,
    MailSettingsSerializer,
    WatchInput,
    WatchSerializer,
    inbound_detail_data,
    inbound_row_data,
    watch_data,
)
from .base import CaseScoped, api_field_names, case_for


class MailSettings(APIView):
    """The caller's mail settings."""

    @extend_schema(responses={200: MailSettingsSerializer}, tags=["mail"])
    def get(self, request):
        """How the caller hears of what happens on their cases."""
        return Response({"mail_delivery": request.user.mail_delivery})

    @extend_schema(
        request=MailSettingsSerializer,
        responses={200: MailSettingsSerializer},
        tags=["mail"],
        description="Research staff and vendor contacts choose for themselves; 403 for "
        "anyone else, 400 for an unknown choice.",
    )
    def put(self, request):
        """Choose a mail per notice (immediate) or a daily digest."""
        serializer = MailSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = preferences.set_mail_delivery(
            actor=request.user, choice=serializer.validated_data["mail_delivery"]
        )
        return Response({"mail_delivery": user.mail_delivery})


class CaseWatch(CaseScoped):
    """Watching a case: the watchers are mailed on every vendor action when
    the case has no assignee (before the leads)."""

    shows_case = False
    serializer_class = WatchSerializer

    def watched_case(self):
        case = self.get_case()
        access.require(self.request.user, access.Action.VIEW_INTERNAL, case)
        return case

    @extend_schema(responses={200: WatchSerializer}, tags=["mail"])
    def get(self, request, reference: str):
        """Whether the caller watches the case, and who does."""
        return Response(watch_data(request.user, self.watched_case()))

    @extend_schema(request=WatchInput, responses={200: WatchSerializer}, tags=["mail"])
    def put(self, request, reference: str):
        """Start or stop watching the case (doing it twice changes nothing)."""
        case = self.watched_case()
        serializer = WatchInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        preferences.watch_case(
            actor=request.user, case=case, watching=serializer.validated_data["watching"]
        )
        return Response(watch_data(request.user, case))


# --- triage -------------------------------------------------------------------


class TriageScoped(GenericAPIView):
    """Received mail: research staff only (vendor contacts 403)."""

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    def message(self) -> InboundMessage:
        row = InboundMessage.objects.filter(pk=self.kwargs["message_id"]).first()
        if row is None:
            raise NotFound("No such message.")
        return row


class TriageList(TriageScoped, ListAPIView):
    """Received messages waiting for a decision (matched no case, or were
    refused), newest first."""

    serializer_class = InboundMessageSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self) -> QuerySet:
        return triage.waiting_messages().values(*INBOUND_ROW_VALUES)

    @extend_schema(tags=["mail"])
    def get(self, request, *args, **kwargs):
        return self.list(request)

    def list(self, request, *args, **kwargs):
        # A page is read as the values a row shows: one query, no instances.
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([inbound_row_data(row) for row in page])


class TriageDetail(TriageScoped):
    """One received message (waiting or handled), its headers and text as
    text, and its attachments."""

    serializer_class = InboundMessageDetailSerializer

    @extend_schema(tags=["mail"])
    def get(self, request, message_id: int):
        return Response(inbound_detail_data(self.message()))


class TriageAttach(TriageScoped):
    serializer_class = AttachInput

    @extend_schema(
        request=AttachInput,
        responses={200: InboundMessageDetailSerializer},
        tags=["mail"],
        description="Logs the waiting message on the case (raw message and attachments as "
        "evidence, the sender checked against the vendor's addresses). 400 for a case the "
        "caller cannot see or a refused message, 403 for a role that does not triage, 409 "
        "when the message was handled already.",
    )
    def post(self, request, message_id: int):
        """Attach the message to a case."""
        row = self.message()
        access.require(request.user, access.Action.TRIAGE_MAIL)
        serializer = AttachInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        reference = serializer.validated_data["reference"].strip()
        case = selectors.case_list(request.user).filter(reference__iexact=reference).first()
        if case is None:
            raise ValidationFailed(f"No case {reference}.", field="reference")
        row = triage.attach_inbound(actor=request.user, message=row, case=case)
        return Response(inbound_detail_data(row))


class TriageNewCase(TriageScoped):
    serializer_class = CaseCreateSerializer

    @extend_schema(
        request=CaseCreateSerializer,
        responses={201: CaseSerializer},
        tags=["mail"],
        description="Opens a case (the body and rules of POST /cases/) and logs the "
        "waiting message on it, in one transaction: a refusal of either writes nothing.",
    )
    def post(self, request, message_id: int):
        """Open a new case from the message."""
        row = self.message()
        access.require(request.user, access.Action.TRIAGE_MAIL)
        serializer = CaseCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = dict(serializer.validated_data)
        d["exposure_evidence"] = incoming_files(
            d["exposure_evidence"], "exposure_capture", keep_kind=True
        )
        with api_field_names("open_case"):
            case = triage.open_case_from_inbound(actor=request.user, message=row, **d)
        case = case_for(request.user, case.reference)
        return Response(
            case_data(case, internal=True, base=origin(request)), status=status.HTTP_201_CREATED
        )


class TriageDiscard(TriageScoped):
    serializer_class = DiscardInput

    @extend_schema(
        request=DiscardInput,
        responses={200: InboundMessageDetailSerializer},
        tags=["mail"],
        description="Sets the waiting message aside with a reason; its Message-ID stays "
        "taken, so it is never ingested again.",
    )
    def post(self, request, message_id: int):
        """Discard the message."""
        row = self.message()
        access.require(request.user, access.Action.TRIAGE_MAIL)
        serializer = DiscardInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = triage.discard_inbound(
            actor=request.user, message=row, reason=serializer.validated_data["reason"]
        )
        return Response(inbound_detail_data(row))
