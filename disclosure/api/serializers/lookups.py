"""Shapes of the verified lookup's API (lookups): verification requests and
their state, the lookup's answer."""

from typing import Any

from rest_framework import serializers

from disclosure.lookups.lookup import LookupAnswer
from disclosure.lookups.models import DomainVerification, Method

from .cases import _time


class DomainInput(serializers.Serializer):
    domain = serializers.CharField(max_length=300)


class VerificationInput(DomainInput):
    # Text checked here rather than an enum: the schema's "method" enum is the
    # deletion method's (drf-spectacular names enums by field name).
    method = serializers.CharField(
        max_length=10,
        help_text="mail: a code to ``address`` (a role mailbox such as security@ at the domain, "
        "or a contact its security.txt names); dns_txt: a TXT record to publish.",
    )
    address = serializers.CharField(max_length=320, required=False, allow_blank=True)

    def validate_method(self, value: str) -> str:
        if value not in ("mail", "dns_txt"):
            raise serializers.ValidationError('Use "mail" or "dns_txt".')
        return value


class CodeInput(DomainInput):
    code = serializers.CharField(max_length=20)


class VerificationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    domain = serializers.CharField()
    method = serializers.CharField(
        help_text="How: " + ", ".join(f"{v} ({label})" for v, label in Method.choices) + "."
    )
    address = serializers.CharField(help_text="Where the code went, or the TXT record's name.")
    status = serializers.ChoiceField(choices=["pending", "verified", "expired"])
    pending_until = serializers.DateTimeField()
    verified_at = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    record_name = serializers.CharField(required=False, help_text="DNS: the TXT record's name.")
    record_value = serializers.CharField(required=False, help_text="DNS: the value to publish.")


class DnsCheckSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    problem = serializers.CharField(help_text="Why not (yet), when not verified.")
    verification = VerificationSerializer()


class CaseMatchSerializer(serializers.Serializer):
    reference = serializers.CharField()
    stage = serializers.CharField()
    stage_label = serializers.CharField()
    data_categories = serializers.ListField(child=serializers.CharField())
    mentions = serializers.IntegerField(help_text="Records at the domain or its subdomains.")
    emails = serializers.IntegerField(help_text="Distinct e-mail addresses among them.")
    hosts = serializers.IntegerField(help_text="Distinct hosts among them.")


class LookupAnswerSerializer(serializers.Serializer):
    domain = serializers.CharField()
    message = serializers.CharField()
    cases = CaseMatchSerializer(many=True)


def verification_data(row: DomainVerification, *, now, token: str = "") -> dict[str, Any]:
    if row.verified_at is not None:
        state = "verified" if row.valid_until and row.valid_until > now else "expired"
    else:
        live = row.superseded_at is None and row.pending_until > now
        state = "pending" if live else "expired"
    data = {
        "id": row.pk,
        "domain": row.domain,
        "method": row.method,
        "address": row.address,
        "status": state,
        "pending_until": _time(row.pending_until),
        "verified_at": _time(row.verified_at),
        "valid_until": _time(row.valid_until),
    }
    if token:
        data.update(record_name=row.address, record_value=token)
    return data


def answer_data(answer: LookupAnswer) -> dict[str, Any]:
    return {
        "domain": answer.domain,
        "message": answer.message,
        "cases": [
            {"reference": c.reference, "stage": c.stage, "stage_label": c.stage_label,
             "data_categories": c.data_categories, "mentions": c.mentions,
             "emails": c.emails, "hosts": c.hosts}
            for c in answer.cases
        ],
    }  # fmt: skip
