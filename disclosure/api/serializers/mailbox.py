"""The caller's mail settings (comms.preferences), watching a case, and
received mail waiting in triage (comms.triage): bodies and answers."""

from typing import Any

from rest_framework import serializers

from disclosure.accounts.models import User
from disclosure.comms import triage
from disclosure.comms.models import Automated, InboundMessage, InboundStatus
from disclosure.core.timeutils import iso_utc

from .common import UserRefSerializer, text, user_ref


class MailSettingsSerializer(serializers.Serializer):
    """How the caller hears of what happens on their cases."""

    mail_delivery = serializers.ChoiceField(
        choices=User.MailDelivery.choices,
        help_text="immediate: a mail per notice; digest: one mail a day.",
    )


class WatchInput(serializers.Serializer):
    watching = serializers.BooleanField(
        help_text="true: hear of the vendor's actions on this case when it has no assignee; "
        "false: stop."
    )


class WatchSerializer(serializers.Serializer):
    """Whether the caller watches the case, and who does."""

    watching = serializers.BooleanField()
    watchers = UserRefSerializer(
        many=True,
        help_text="The staff who watch the case, by username: mailed on every vendor action "
        "when the case has no assignee.",
    )


def watch_data(user, case) -> dict[str, Any]:
    watchers = list(case.watchers.order_by("username", "pk"))
    return {
        "watching": any(w.pk == user.pk for w in watchers),
        "watchers": [user_ref(w) for w in watchers],
    }


# --- triage -------------------------------------------------------------------


class InboundMessageSerializer(serializers.Serializer):
    """A received message (the triage list's row)."""

    id = serializers.IntegerField()
    message_id = serializers.CharField()
    source = serializers.CharField(help_text="imap:<folder> or maildir:<path>.")
    sender = serializers.CharField()
    subject = serializers.CharField()
    sent_at = serializers.DateTimeField(allow_null=True, help_text="Its Date header.")
    received_at = serializers.DateTimeField()
    size = serializers.IntegerField(help_text="Bytes of the raw message.")
    automated = serializers.ChoiceField(
        choices=[("", "No"), *Automated.choices],
        help_text="An automatic reply or a delivery report, never the vendor's answer.",
    )
    status = serializers.ChoiceField(choices=InboundStatus.choices)
    problem = serializers.CharField(help_text="Why it was refused, or what was wrong.")
    case = serializers.CharField(
        allow_null=True, help_text="The reference of the case it is logged on, if any."
    )
    triaged_by = UserRefSerializer(allow_null=True)
    triaged_at = serializers.DateTimeField(allow_null=True)
    triage_reason = serializers.CharField(help_text="Why it was discarded.")


class AttachmentInfoSerializer(serializers.Serializer):
    name = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()


class InboundMessageDetailSerializer(InboundMessageSerializer):
    """A received message with its headers and text (as text: escape it
    where you show it) and its attachments."""

    kept = serializers.BooleanField(help_text="Whether the raw message is kept (not refused).")
    headers = serializers.CharField(help_text="The header block, cut at 20,000 characters.")
    body = serializers.CharField(help_text="The text, cut at 100,000 characters.")
    attachments = AttachmentInfoSerializer(many=True)


# What a triage row is read as (the list: one query, no model instances).
INBOUND_ROW_VALUES = (
    "id", "message_id", "source", "sender", "subject", "sent_at", "received_at", "raw_size",
    "automated", "status", "problem", "case__reference", "triaged_by_id",
    "triaged_by__username", "triaged_by__first_name", "triaged_by__last_name",
    "triaged_at", "triage_reason",
)  # fmt: skip


def _t(value):
    return iso_utc(value) if value else None


def inbound_row_data(row: dict[str, Any]) -> dict[str, Any]:
    """A row of ``INBOUND_ROW_VALUES`` as ``InboundMessageSerializer`` shows it."""
    triaged_by = None
    if row["triaged_by_id"] is not None:
        name = f"{row['triaged_by__first_name']} {row['triaged_by__last_name']}".strip()
        triaged_by = {
            "id": row["triaged_by_id"],
            "username": row["triaged_by__username"],
            "name": name or row["triaged_by__username"],
        }
    return {
        "id": row["id"],
        "message_id": row["message_id"],
        "source": row["source"],
        "sender": row["sender"],
        "subject": row["subject"],
        "sent_at": _t(row["sent_at"]),
        "received_at": _t(row["received_at"]),
        "size": row["raw_size"],
        "automated": row["automated"],
        "status": row["status"],
        "problem": row["problem"],
        "case": row["case__reference"],
        "triaged_by": triaged_by,
        "triaged_at": _t(row["triaged_at"]),
        "triage_reason": row["triage_reason"],
    }


def inbound_detail_data(message: InboundMessage) -> dict[str, Any]:
    """``message`` with its headers, text and attachments."""
    values = InboundMessage.objects.filter(pk=message.pk).values(*INBOUND_ROW_VALUES).get()
    shown = triage.shown(message)
    return {
        **inbound_row_data(values),
        "kept": shown.kept,
        "headers": shown.headers,
        "body": shown.body,
        "attachments": [
            {"name": name, "content_type": ctype, "size": size}
            for name, ctype, size in shown.attachments
        ],
    }


class AttachInput(serializers.Serializer):
    reference = serializers.CharField(
        max_length=40, help_text="The case to log the message on (DSC-2026-0042)."
    )


class DiscardInput(serializers.Serializer):
    reason = text(required=True, max_length=2000, help_text="Why it is discarded (required).")
