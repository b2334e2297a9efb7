"""POST /cases/{reference}/mail/: staff write to the case's vendor
(comms.outbound.send_case_mail), answered with the communication and its
delivery. The same body runs as the table's ``send_mail`` action too
(/actions/send_mail/, answered like every action)."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from disclosure.cases import access, selectors
from disclosure.comms.outbound import send_case_mail

from ..serializers.mail import SendMailInput
from ..serializers.records import CommunicationSerializer
from .base import CaseScoped, api_field_names

ACTION = "send_mail"


class CaseMail(CaseScoped):
    """Mail to the vendor through the outbox."""

    serializer_class = SendMailInput
    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="cases_mail_create",
        summary="Write to the vendor",
        description="Sends mail to the case's vendor through the outbox: recipients among "
        "the vendor's known addresses (any address for a first notice, with "
        "found_at_source), the case reference added to the subject, the raw message kept "
        "as evidence. 201 with the outbound communication and its delivery (queued, sent "
        "with the server's answer, failed with the error); 400 for a refused recipient or "
        "bad input; 403 for a role that may not write to vendors; 404 for a case the "
        "caller may not see; 409 when recording the notification is not allowed now.",
        request=SendMailInput,
        responses={201: CommunicationSerializer},
        tags=["mail"],
    )
    def post(self, request, reference: str):
        case = self.get_case()
        access.require(request.user, ACTION, case)
        context = self.get_serializer_context()
        serializer = SendMailInput(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        with api_field_names(ACTION):
            kwargs = serializer.service_kwargs(case=case, user=request.user)
            comm = send_case_mail(actor=request.user, case=case, **kwargs)
        comm = (
            selectors.communications_for(request.user, case)
            .select_related("case", "outbox")
            .get(pk=comm.pk)
        )
        return Response(
            CommunicationSerializer(comm, context=context).data, status=status.HTTP_201_CREATED
        )
