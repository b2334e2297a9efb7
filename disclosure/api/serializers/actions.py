"""The body of each action of the transitions table, as its service takes
it. Serializers check the shape; the services decide everything else.

``ACTION_INPUTS`` maps each action to its serializer; ``service_kwargs``
turns validated data into the service's keyword arguments (files into
IncomingFile, ids into rows the caller may see).
"""

from typing import Any

from rest_framework import serializers

from disclosure.accounts.selectors import staff_members
from disclosure.affected.models import OUTCOMES
from disclosure.cases import selectors
from disclosure.cases.models import Escalation
from disclosure.cases.stages import CloseReason
from disclosure.comms.models import Channel, Direction
from disclosure.core.errors import ValidationFailed
from disclosure.evidence.models import EXPOSURE_KINDS, DeletionMethod, EvidenceKind

from .cases import CaseSerializer, CaseUpdateSerializer
from .common import (
    MAX_COUNT,
    FileSerializer,
    NoteFields,
    id_field,
    incoming_files,
    pk_field,
    shared_field,
    text,
)
from .mail import SendMailInput
from .records import EventSerializer


def recipients_field() -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=320), help_text="Addresses or names."
    )


class ActionInput(serializers.Serializer):
    # Fields of which the service needs at least one (besides the required
    # ones): the schema says so as ``anyOf`` and GET actions/ as
    # ``requires_one_of`` (``schema.add_alternatives``).
    requires_one_of: tuple[str, ...] = ()

    def service_kwargs(self, *, case, user) -> dict[str, Any]:
        return dict(self.validated_data)


class NotifyVendorInput(NoteFields, ActionInput):
    requires_one_of = ("subject", "body", "attachments")
    occurred_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    sender = serializers.CharField(max_length=320)
    recipients = recipients_field()
    subject = text(max_length=500)
    body = text()
    attachments = FileSerializer(many=True, required=False, default=list)

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        d["attachments"] = incoming_files(d["attachments"], EvidenceKind.NOTICE)
        return d


class AcknowledgeInput(NoteFields, ActionInput):
    occurred_at = serializers.DateTimeField()


class SecureInput(NoteFields, ActionInput):
    """Staff give a re-test result or the vendor's confirmation; a vendor
    contact's own report of it needs neither."""

    requires_one_of = ("retest_result", "confirmation")
    occurred_at = serializers.DateTimeField()
    retest_result = text(help_text="What a re-test shows; or give the vendor's confirmation.")
    confirmation = id_field(
        required=False, allow_null=True, help_text="Id of an inbound communication of this case."
    )
    evidence = FileSerializer(many=True, required=False, default=list)

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        d["evidence"] = incoming_files(d["evidence"], EvidenceKind.RETEST_RESULT)
        comm_id = d.pop("confirmation", None)
        d["confirmation"] = None
        if comm_id is not None:
            d["confirmation"] = (
                selectors.communications_for(user, case)
                .filter(pk=comm_id, direction=Direction.INBOUND)
                .first()
            )
            if d["confirmation"] is None:
                raise ValidationFailed(
                    f"{case.reference} has no inbound communication {comm_id}.",
                    field="confirmation",
                )
        return d


class DeletionItemInput(serializers.Serializer):
    path = serializers.CharField()
    bytes = serializers.IntegerField(min_value=0, max_value=MAX_COUNT)
    sha256 = serializers.CharField()


class RecordDeletionInput(NoteFields, ActionInput):
    items = DeletionItemInput(many=True)
    method = serializers.ChoiceField(choices=DeletionMethod.choices)
    tool = serializers.CharField(max_length=200)
    performed_by = pk_field(staff_members(), help_text="Id of a staff member.")
    performed_at = serializers.DateTimeField()
    verification = serializers.CharField()
    verified_by = pk_field(
        staff_members(),
        help_text="Id of another staff member, who verified the deletion (four eyes: the "
        "service requires one).",
    )
    retained_metadata = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    retention_reason = text()
    evidence = FileSerializer(many=True, required=False, default=list)

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        d["items"] = [dict(i) for i in d["items"]]
        d["evidence"] = incoming_files(d["evidence"], EvidenceKind.DELETION_LOG)
        return d


class PublishInput(ActionInput):
    occurred_at = serializers.DateTimeField()
    url = serializers.CharField(max_length=1000)
    title = serializers.CharField(max_length=300)
    override_justification = text(help_text="A lead's reason to publish before securing.")


class CloseInput(NoteFields, ActionInput):
    reason = serializers.ChoiceField(choices=CloseReason.choices)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class LogCommunicationInput(ActionInput):
    requires_one_of = ("subject", "body", "attachments")
    direction = serializers.ChoiceField(choices=Direction.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    sender = serializers.CharField(max_length=320)
    recipients = recipients_field()
    subject = text(max_length=500)
    body = text()
    occurred_at = serializers.DateTimeField()
    attachments = FileSerializer(many=True, required=False, default=list)

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        d["attachments"] = incoming_files(d["attachments"], EvidenceKind.ATTACHMENT)
        return d


class AttachEvidenceInput(ActionInput):
    """A multipart upload of one file."""

    file = serializers.FileField()
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, required=False,
                                   default=EvidenceKind.OTHER)  # fmt: skip
    description = text()
    captured_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    shared = shared_field()

    def service_kwargs(self, *, case, user):
        from disclosure.evidence.services import IncomingFile

        d = self.validated_data
        upload = d["file"]
        return {
            "file": IncomingFile(
                name=upload.name,
                stream=upload,
                kind=d["kind"],
                description=d["description"],
                captured_at=d["captured_at"],
                shared=d["shared"],
            )
        }


class FileDisputeInput(ActionInput):
    subject = serializers.CharField(max_length=300)
    firm_position = serializers.CharField()
    firm_provenance = serializers.CharField()
    vendor_position = serializers.CharField()
    vendor_provenance = serializers.CharField()
    filed_at = serializers.DateTimeField(required=False, allow_null=True, default=None)


def _open_dispute(case, user, dispute_id: int):
    """The dispute ``dispute_id`` of ``case`` as ``user`` may read it (the
    service refuses it when settled)."""
    dispute = selectors.disputes_for(user, case).filter(pk=dispute_id).first()
    if dispute is None:
        raise ValidationFailed(f"{case.reference} has no dispute {dispute_id}.", field="dispute")
    return dispute


class AnswerDisputeInput(ActionInput):
    dispute = id_field(help_text="Id of an open dispute of this case.")
    answer = serializers.CharField(help_text="The firm's position.")
    answered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        d["dispute"] = _open_dispute(case, user, d["dispute"])
        return d


class SettleDisputeInput(ActionInput):
    dispute = id_field(help_text="Id of an open dispute of this case.")
    outcome = serializers.ChoiceField(choices=[(o.value, o.label) for o in OUTCOMES])
    reason = serializers.CharField()
    settled_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        d["dispute"] = _open_dispute(case, user, d["dispute"])
        return d


class CountersignInput(ActionInput):
    statement = text()


class CorrectEventInput(ActionInput):
    requires_one_of = ("statement", "occurred_at")
    seq = serializers.IntegerField(min_value=1, max_value=2**31 - 1)
    reason = serializers.CharField()
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    statement = text()


class SetLegalHoldInput(ActionInput):
    on = serializers.BooleanField()
    reason = serializers.CharField()


class EscalateInput(ActionInput):
    target = serializers.ChoiceField(choices=Escalation.Target.choices)
    organization = serializers.CharField(max_length=200)
    their_reference = text(max_length=200)
    reason = serializers.CharField()
    escalated_at = serializers.DateTimeField()


class UpdateDetailsInput(CaseUpdateSerializer):
    requires_one_of = ()  # at least one field: ``minProperties`` in the schema

    def __init__(self, *args, **kwargs):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)

    def service_kwargs(self, *, case, user):
        return {"changes": dict(self.validated_data)}


class OpenFollowUpInput(ActionInput):
    found_at = serializers.DateTimeField()
    how_found = serializers.CharField()
    title = serializers.CharField(max_length=300, required=False, allow_null=True, default=None)
    asset_identifier = serializers.CharField(
        max_length=1000, required=False, allow_null=True, default=None
    )
    exposure_evidence = FileSerializer(
        many=True,
        allow_empty=False,
        help_text="Files of kind exposure_capture (default) or screenshot.",
    )

    def service_kwargs(self, *, case, user):
        d = dict(self.validated_data)
        files = d["exposure_evidence"]
        for f in files:
            if f.get("kind") and f["kind"] not in EXPOSURE_KINDS:
                raise ValidationFailed(
                    "Exposure evidence is of kind exposure_capture or screenshot.",
                    field="exposure_evidence",
                )
        d["exposure_evidence"] = incoming_files(
            files, EvidenceKind.EXPOSURE_CAPTURE, keep_kind=True
        )
        return d


ACTION_INPUTS: dict[str, type[serializers.Serializer]] = {
    "notify_vendor": NotifyVendorInput,
    "secure": SecureInput,
    "record_deletion": RecordDeletionInput,
    "publish": PublishInput,
    "close": CloseInput,
    "acknowledge": AcknowledgeInput,
    "log_communication": LogCommunicationInput,
    "send_mail": SendMailInput,
    "attach_evidence": AttachEvidenceInput,
    "file_dispute": FileDisputeInput,
    "answer_dispute": AnswerDisputeInput,
    "settle_dispute": SettleDisputeInput,
    "countersign_attestation": CountersignInput,
    "correct_event": CorrectEventInput,
    "set_legal_hold": SetLegalHoldInput,
    "escalate": EscalateInput,
    "update_details": UpdateDetailsInput,
    "open_follow_up": OpenFollowUpInput,
}


class ActionResultSerializer(serializers.Serializer):
    """What an action returns: the case after it, the ledger events it
    appended (as the caller may read them) and what it created."""

    case = CaseSerializer(help_text="The case after the action.")
    events = EventSerializer(many=True)
    created = serializers.DictField(
        allow_null=True, help_text="The record the action created, if any (id, kind, ...)."
    )


class AvailableActionSerializer(serializers.Serializer):
    action = serializers.CharField()
    label = serializers.CharField()
    requires = serializers.CharField()
    changes_stage = serializers.BooleanField()
    target = serializers.CharField(allow_null=True)
    url = serializers.URLField(help_text="Absolute URL to POST the action's body to.")
    fields = serializers.DictField(
        child=serializers.BooleanField(), help_text="Body fields, true when required."
    )
    requires_one_of = serializers.ListField(
        child=serializers.CharField(),
        help_text="Body fields of which at least one must be given (besides the required).",
    )
