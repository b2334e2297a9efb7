"""A case's records as the API shows them: ledger events, communications,
evidence files, disputes, escalations, the deletion attestation; and
organizations. Vendor contacts get the vendor-visible part only (events:
the payload keys cases/visibility.py declares for their kind)."""

from typing import Any

from rest_framework import serializers

from disclosure.accounts.models import Organization
from disclosure.affected.models import Dispute
from disclosure.cases import vendor_view
from disclosure.cases.models import Escalation
from disclosure.comms.models import Channel, Direction
from disclosure.core.timeutils import iso_utc
from disclosure.evidence.models import DeletionMethod, EvidenceKind
from disclosure.ledger.models import EventKind

from .cases import _time
from .common import STAFF_VIEW, People, UserRefSerializer, origin, user_ref
from .mail import DeliverySerializer, delivery_data, outbox_of


class ActorSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null for the firm's people, "
                                  "to vendor contacts.")  # fmt: skip
    username = serializers.CharField()
    name = serializers.CharField()
    organization = serializers.CharField(allow_null=True)
    role = serializers.CharField(allow_null=True)


class EventSerializer(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=EventKind.choices)
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    actor = ActorSerializer()
    payload = serializers.DictField(help_text="What the event records (by kind).")
    internal = serializers.BooleanField()
    v = serializers.IntegerField(help_text="Format version of the hashed body.")
    state = serializers.CharField(
        help_text="SHA-256 of the case's ledger state after the event (hashed)."
    )
    prev_hash = serializers.CharField()
    hash = serializers.CharField(
        help_text="sha256(prev_hash + canonical JSON of {v, case (the reference), seq, kind, "
        "occurred_at, recorded_at, actor, payload, internal, state, prev_hash}): staff can "
        "recompute it from this object alone; a vendor's copy leaves out internal payload "
        "keys and names the firm's people only as the firm, so its hash is checked against "
        "the legal export instead."
    )

    def to_representation(self, event) -> dict[str, Any]:
        return event_data(event, internal=self.context.get("internal", False))


# The columns an event shows, read with ``QuerySet.values`` for a page.
EVENT_ROW_VALUES = ("seq", "kind", "occurred_at", "recorded_at", "actor_snapshot", "payload",
                    "internal", "v", "state", "prev_hash", "hash")  # fmt: skip
# A vendor's page also reads what the vendor projection needs beyond the row.
VENDOR_EVENT_ROW_VALUES = (*EVENT_ROW_VALUES, *vendor_view.SCOPE_COLUMNS)


def event_data(event, *, internal: bool) -> dict[str, Any]:
    """The event (a CaseEvent, or a row of EVENT_ROW_VALUES) as the API shows
    it; for a vendor (``internal`` False) as ``cases.vendor_view.project_event``
    projects it (a row of VENDOR_EVENT_ROW_VALUES): the declared payload keys,
    the firm's people only as the firm. Every hashed field is given, its
    times as the hash covers them (ISO-8601 UTC with microseconds), so staff
    can recompute the hash."""
    if not isinstance(event, dict):
        names = EVENT_ROW_VALUES if internal else VENDOR_EVENT_ROW_VALUES
        event = {name: getattr(event, name) for name in names}
    payload = event["payload"]
    snapshot = event["actor_snapshot"] or {}
    if not internal:
        # The vendor projection the portal and the vendor export show (rows
        # come from selectors.events_for / events_by_reference, which hold
        # only events it shows, with its SCOPE_COLUMNS).
        seen = vendor_view.project_event(event)
        if seen is None:
            raise ValueError(f"event #{event['seq']} is not shown to the vendor")
        payload, snapshot = seen["payload"], seen["actor"]
    return {
        "seq": event["seq"],
        "kind": event["kind"],
        "occurred_at": iso_utc(event["occurred_at"]),
        "recorded_at": iso_utc(event["recorded_at"]),
        "actor": {
            "id": snapshot.get("id"),
            "username": snapshot.get("username", ""),
            "name": snapshot.get("name", ""),
            "organization": snapshot.get("organization"),
            "role": snapshot.get("role"),
        },
        "payload": payload,
        "internal": event["internal"],
        "v": event["v"],
        "state": event["state"],
        "prev_hash": event["prev_hash"],
        "hash": event["hash"],
    }


class EvidenceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=EvidenceKind.choices)
    description = serializers.CharField()
    uploaded_by = UserRefSerializer()
    uploaded_at = serializers.DateTimeField()
    captured_at = serializers.DateTimeField(allow_null=True)
    download = serializers.URLField(help_text="Absolute URL of the file's content.")

    def to_representation(self, f) -> dict[str, Any]:
        return evidence_data(f, _people(self), base=origin(self.context.get("request")))


def _people(serializer) -> People:
    return serializer.context.get("people") or STAFF_VIEW


def evidence_data(f, people: People = STAFF_VIEW, *, base: str) -> dict[str, Any]:
    """An evidence file as the API shows it; ``base``: the request's
    ``origin``, which the download URL starts with."""
    return {
        "id": f.pk,
        "sha256": f.sha256,
        "size": f.size,
        "content_type": f.content_type,
        "name": f.original_name,
        "kind": f.kind,
        "description": f.description,
        "uploaded_by": people.ref(f.uploaded_by),
        "uploaded_at": _time(f.uploaded_at),
        "captured_at": _time(f.captured_at),
        "download": f"{base}/api/v1/cases/{f.case.reference}/evidence/{f.pk}/download/",
    }


class AttachmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sha256 = serializers.CharField()
    size = serializers.IntegerField()
    name = serializers.CharField()
    download = serializers.URLField(help_text="Absolute URL of the file's content.")


class CommunicationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=Direction.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    sender = serializers.CharField()
    recipients = serializers.ListField(child=serializers.CharField(allow_null=True))
    subject = serializers.CharField()
    body = serializers.CharField()
    body_sha256 = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    logged_by = UserRefSerializer()
    logged_at = serializers.DateTimeField()
    attachments = AttachmentSerializer(many=True)
    message_id = serializers.CharField(
        required=False, help_text="Staff only: the e-mail's Message-ID ('' when none)."
    )
    delivery = DeliverySerializer(
        required=False,
        allow_null=True,
        help_text="Staff only: the delivery of an e-mail sent through Disclosure (null "
        "for anything else).",
    )

    def to_representation(self, c) -> dict[str, Any]:
        reference = c.case.reference
        base = origin(self.context.get("request"))
        staff = {}
        if self.context.get("internal"):
            staff = {"message_id": c.message_id, "delivery": delivery_data(outbox_of(c))}
        return {
            "id": c.pk,
            "direction": c.direction,
            "channel": c.channel,
            "sender": c.sender,
            "recipients": c.recipients,
            "subject": c.subject,
            "body": c.body,
            "body_sha256": c.body_sha256,
            "occurred_at": _time(c.occurred_at),
            "logged_by": _people(self).ref(c.logged_by),
            "logged_at": _time(c.logged_at),
            "attachments": [
                {
                    "id": a.pk,
                    "sha256": a.sha256,
                    "size": a.size,
                    "name": a.original_name,
                    "download": f"{base}/api/v1/cases/{reference}/evidence/{a.pk}/download/",
                }
                for a in c.attachments.all()
            ],
            **staff,
        }


class DisputeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    subject = serializers.CharField()
    firm_position = serializers.CharField()
    firm_provenance = serializers.CharField()
    vendor_position = serializers.CharField()
    vendor_provenance = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Dispute.Status.choices, help_text="open, or the outcome it was settled with."
    )
    filed_by = UserRefSerializer()
    filed_at = serializers.DateTimeField()
    answer = serializers.CharField(help_text="The firm's answer; empty until answered.")
    answered_by = UserRefSerializer(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    settlement_reason = serializers.CharField(help_text="Why it was settled so; empty while open.")
    settled_by = UserRefSerializer(allow_null=True)
    settled_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, d) -> dict[str, Any]:
        people = _people(self)
        return {
            "id": d.pk,
            "subject": d.subject,
            "firm_position": d.firm_position,
            "firm_provenance": d.firm_provenance,
            "vendor_position": d.vendor_position,
            "vendor_provenance": d.vendor_provenance,
            "status": d.status,
            "filed_by": people.ref(d.filed_by),
            "filed_at": _time(d.filed_at),
            "answer": d.answer,
            "answered_by": people.ref(d.answered_by),
            "answered_at": _time(d.answered_at),
            "settlement_reason": d.settlement_reason,
            "settled_by": people.ref(d.settled_by),
            "settled_at": _time(d.settled_at),
        }


class EscalationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    target = serializers.ChoiceField(choices=Escalation.Target.choices)
    organization = serializers.CharField()
    their_reference = serializers.CharField()
    reason = serializers.CharField()
    escalated_at = serializers.DateTimeField()
    escalated_by = UserRefSerializer()

    def to_representation(self, e) -> dict[str, Any]:
        return {
            "id": e.pk,
            "target": e.target,
            "organization": e.organization,
            "their_reference": e.their_reference,
            "reason": e.reason,
            "escalated_at": _time(e.escalated_at),
            "escalated_by": user_ref(e.escalated_by),
        }


class AttestationItemSerializer(serializers.Serializer):
    path = serializers.CharField()
    bytes = serializers.IntegerField()
    sha256 = serializers.CharField()


class AttestationInternalSerializer(serializers.Serializer):
    tool = serializers.CharField()
    performed_by = UserRefSerializer()
    verified_by = UserRefSerializer(allow_null=True)
    verification = serializers.CharField()
    retention_reason = serializers.CharField()


class AttestationSerializer(serializers.Serializer):
    content_sha256 = serializers.CharField()
    items = AttestationItemSerializer(many=True)
    total_bytes = serializers.IntegerField()
    method = serializers.ChoiceField(choices=DeletionMethod.choices)
    performed_at = serializers.DateTimeField()
    retained_metadata = serializers.ListField(child=serializers.CharField())
    evidence = serializers.ListField(child=serializers.CharField(), help_text="SHA-256 of each.")
    countersigned_by = UserRefSerializer(allow_null=True)
    countersigned_at = serializers.DateTimeField(allow_null=True)
    countersignature_statement = serializers.CharField()
    internal = AttestationInternalSerializer(allow_null=True)

    def to_representation(self, a) -> dict[str, Any]:
        data = {
            "content_sha256": a.content_sha256,
            "items": a.items,
            "total_bytes": a.total_bytes,
            "method": a.method,
            "performed_at": _time(a.performed_at),
            "retained_metadata": a.retained_metadata,
            "evidence": sorted(e.sha256 for e in a.evidence.all()),
            "countersigned_by": _people(self).ref(a.countersigned_by),
            "countersigned_at": _time(a.countersigned_at),
            "countersignature_statement": a.countersignature_statement,
            "internal": None,
        }
        if self.context.get("internal"):
            data["internal"] = {
                "tool": a.tool,
                "performed_by": user_ref(a.performed_by),
                "verified_by": user_ref(a.verified_by),
                "verification": a.verification,
                "retention_reason": a.retention_reason,
            }
        return data


class OrganizationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Organization
        fields = [
            "id", "name", "kind", "domain", "domains", "security_contacts", "time_zone",
            "mail_includes_content",
        ]  # fmt: skip
