"""Mail to the vendor through the API (comms.outbound.send_case_mail): the
body of ``POST /cases/{reference}/mail/`` (and of the table's ``send_mail``
action), and the delivery status staff read on outbound e-mail."""

from typing import Any

from rest_framework import serializers

from disclosure.cases import selectors
from disclosure.comms.models import OutboxMessage, TemplateKey
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import iso_utc
from disclosure.evidence.models import EvidenceKind

from .common import MAX_ID, FileSerializer, id_field, incoming_files, text


def address_list(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=500),
        max_length=50,
        **kwargs,
    )


class SendMailInput(serializers.Serializer):
    """Mail to the vendor: recipients among the vendor's known addresses
    (any address for a first notice, with ``found_at_source``)."""

    requires_one_of: tuple[str, ...] = ()
    to = address_list(help_text="Addresses ('a@b' or 'Name <a@b>').", allow_empty=False)
    cc = address_list(required=False, default=list)
    subject = serializers.CharField(
        max_length=500, help_text="The case reference is added in brackets when missing."
    )
    body = serializers.CharField(trim_whitespace=False, help_text="Plain text.")
    template_key = serializers.ChoiceField(
        choices=[("", "None"), *TemplateKey.choices], required=False, default="",
        help_text="The template the text was written from, if any.",
    )  # fmt: skip
    attach_evidence_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        default=list,
        max_length=20,
        help_text="Ids of evidence files of this case to attach as stored.",
    )
    attachments = FileSerializer(
        many=True, required=False, default=list, help_text="New files (become evidence)."
    )
    in_reply_to = id_field(
        required=False, allow_null=True, default=None,
        help_text="Id of a communication of this case this mail answers (threading headers).",
    )  # fmt: skip
    record_notified = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Also record the vendor_notified milestone with this mail as the notice.",
    )
    found_at_source = text(
        max_length=1000,
        help_text="For a first notice to an address not known for the vendor: the URL of "
        "the security.txt it is in, or 'rfc2142' for a role mailbox (security@, abuse@ ...).",
    )

    def service_kwargs(self, *, case, user) -> dict[str, Any]:
        d = dict(self.validated_data)
        d["attachments"] = incoming_files(d["attachments"], EvidenceKind.ATTACHMENT)
        comm_id = d.pop("in_reply_to", None)
        d["in_reply_to"] = None
        if comm_id is not None:
            d["in_reply_to"] = selectors.communications_for(user, case).filter(pk=comm_id).first()
            if d["in_reply_to"] is None:
                raise ValidationFailed(
                    f"{case.reference} has no communication {comm_id}.", field="in_reply_to"
                )
        return d


class RecipientDeliverySerializer(serializers.Serializer):
    """What the mail server said of one envelope recipient (comms.recipients)."""

    address = serializers.CharField()
    kind = serializers.ChoiceField(choices=["to", "cc", "bcc"])
    state = serializers.ChoiceField(
        choices=["pending", "accepted", "refused"],
        help_text="accepted: the server took the message for this address; refused: it "
        "refused the address (or the message, for good); pending: not delivered yet.",
    )
    answer = serializers.CharField(help_text="The server's words ('' until it has spoken).")


class DeliverySerializer(serializers.Serializer):
    """Where an outbound e-mail is: queued, sending, sent (with the
    server's answer) or failed (with the error)."""

    status = serializers.ChoiceField(choices=["queued", "sending", "sent", "failed"])
    attempts = serializers.IntegerField()
    server_response = serializers.CharField()
    last_error = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    recipients = RecipientDeliverySerializer(
        many=True, help_text="Each envelope recipient (to, cc, bcc) and its delivery."
    )


def delivery_data(row: OutboxMessage | None) -> dict[str, Any] | None:
    """An outbox row as ``DeliverySerializer`` shows it (None: not mailed
    through Disclosure)."""
    if row is None:
        return None

    def t(value):
        return iso_utc(value) if value else None

    return {
        "status": row.status,
        "attempts": row.attempts,
        "server_response": row.server_response,
        "last_error": row.last_error,
        "sent_at": t(row.sent_at),
        "next_attempt_at": t(row.next_attempt_at) if row.status == "queued" else None,
        "recipients": [
            {k: r.get(k, "") for k in ("address", "kind", "state", "answer")}
            for r in row.delivery_recipients or []
        ],
    }


def outbox_of(comm) -> OutboxMessage | None:
    """The communication's outbox row (selected with it, or None)."""
    try:
        return comm.outbox
    except OutboxMessage.DoesNotExist:
        return None
