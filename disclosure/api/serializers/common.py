"""Shapes shared by the API's serializers: references to rows, uploaded
files (base64 in JSON bodies), errors."""

import base64
import binascii
import io

from rest_framework import serializers

from disclosure.accounts.models import Membership, Organization
from disclosure.evidence.models import EvidenceKind, visibility_default_text
from disclosure.evidence.services import IncomingFile

MAX_ID = 2**63 - 1
MAX_COUNT = 2**63 - 1


def id_field(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


def pk_field(queryset, **kwargs) -> serializers.PrimaryKeyRelatedField:
    """A row by id, the id checked as a 64-bit number before it is looked up."""
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset, pk_field=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        **kwargs,
    )  # fmt: skip


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, for programs (e.g. transition_not_allowed).")
    message = serializers.CharField(help_text="For people.")
    field = serializers.CharField(required=False, help_text="The input the error is about.")
    errors = serializers.JSONField(required=False, help_text="Field errors of a bad body.")


class RefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class UserRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(allow_null=True, help_text="Null for the firm's people, "
                                  "to vendor contacts.")  # fmt: skip
    username = serializers.CharField()
    name = serializers.CharField()


def origin(request) -> str:
    """The scheme and host ``request`` came to (``https://tracker.example``),
    worked out once per request: every URL in a response is absolute, like
    the pages' ``next`` links (the request's own host, as Django validated it
    against ALLOWED_HOSTS). Empty without a request (a relative path)."""
    if request is None:
        return ""
    cached = getattr(request, "_disclosure_origin", None)
    if cached is None:
        cached = request.build_absolute_uri("/")[:-1]
        request._disclosure_origin = cached
    return cached


def user_ref(user) -> dict | None:
    if user is None:
        return None
    return {"id": user.pk, "username": user.get_username(), "name": user.display_name()}


class People:
    """Who did something, as the caller may be told (as the portal tells
    it, cases.vendor_view.actor_name): staff see everyone; a vendor contact
    sees their organization's contacts by name and the firm's people only
    as the firm (who works a case is the firm's business)."""

    def __init__(self, *, internal: bool, vendor_id: int | None = None) -> None:
        self.internal, self.vendor_id = internal, vendor_id
        self._contacts: frozenset[int] | None = None
        self._firm: str | None = None

    def ref(self, user) -> dict | None:
        if user is None or self.internal:
            return user_ref(user)
        if self._contacts is None:
            self._contacts = frozenset(
                Membership.objects.filter(organization_id=self.vendor_id).values_list(
                    "user_id", flat=True
                )
            )
        if user.pk in self._contacts:
            return user_ref(user)
        if self._firm is None:
            self._firm = (
                Organization.objects.filter(kind=Organization.Kind.FIRM)
                .values_list("name", flat=True)
                .first()
            ) or "The research firm"
        return {"id": None, "username": "", "name": self._firm}


STAFF_VIEW = People(internal=True)


def shared_field() -> serializers.BooleanField:
    """Whether the vendor sees an uploaded file; null or left out: the default."""
    return serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Whether the vendor sees the file (true: shared in the portal; false: "
        f"internal). {visibility_default_text()} A vendor contact's upload is always shared.",
    )


class FileSerializer(serializers.Serializer):
    """A file in a JSON body: its name and content in base64."""

    name = serializers.CharField(max_length=255)
    content_base64 = serializers.CharField(help_text="The file's bytes, base64-encoded.")
    kind = serializers.ChoiceField(choices=EvidenceKind.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    captured_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    shared = shared_field()

    def validate_content_base64(self, value: str) -> bytes:
        try:
            content = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise serializers.ValidationError("Not valid base64.") from None
        if not content:
            raise serializers.ValidationError("The file is empty.")
        return content


def incoming_files(items, kind: str, *, keep_kind: bool = False) -> list[IncomingFile]:
    """Validated FileSerializer items as the services take them, filed as
    ``kind`` (or their own kind when ``keep_kind`` and they name one)."""
    return [
        IncomingFile(
            name=f["name"],
            stream=io.BytesIO(f["content_base64"]),
            kind=(f.get("kind") or kind) if keep_kind else kind,
            description=f.get("description", ""),
            captured_at=f.get("captured_at"),
            shared=f.get("shared"),
        )
        for f in items
    ]


class CategoriesField(serializers.ListField):
    """A list of data categories whose error names every unknown value (a
    list of choice fields names each by its index, and a client is told the
    first): the case details' own rule (cases.details) says it."""

    def __init__(self, **kwargs) -> None:
        from disclosure.cases.models import DataCategory

        super().__init__(child=serializers.ChoiceField(choices=DataCategory.choices), **kwargs)

    def to_internal_value(self, data):
        from disclosure.cases.details import clean_categories
        from disclosure.core.errors import ValidationFailed

        if isinstance(data, (list, tuple)):
            try:
                clean_categories(list(data))
            except ValidationFailed as e:
                raise serializers.ValidationError(e.message) from e
        return super().to_internal_value(data)


def text(**kwargs) -> serializers.CharField:
    kwargs.setdefault("required", False)
    kwargs.setdefault("allow_blank", True)
    if not kwargs["required"]:
        kwargs.setdefault("default", "")
    return serializers.CharField(trim_whitespace=False, **kwargs)


class NoteFields(serializers.Serializer):
    note = text(help_text="Internal to the firm unless note_shared.")
    note_shared = serializers.BooleanField(required=False, default=False)
