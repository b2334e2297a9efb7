"""Forms of the records added beside the stages: communications (with .eml
ingestion), evidence, disputes, corrections, legal hold, escalations and
follow-up cases."""

import io
from typing import Any

from django import forms

from disclosure.cases.models import Escalation
from disclosure.comms.eml import ParsedEmail, parse_eml
from disclosure.comms.models import Channel, Direction
from disclosure.core.errors import ValidationFailed
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile

from .base import (
    CaseForm,
    LocalDateTimeField,
    MultipleFileField,
    incoming,
    lines,
    shared_choice,
    visibility_field,
)
from .details import EXPOSURE_KINDS

# A raw message is parsed in memory: larger ones are refused.
EML_MAX_BYTES = 50 * 2**20

# The channels as the form offers them: a call is a phone channel, a meeting "other".
CHANNELS = [
    (Channel.PHONE.value, "Phone call") if value == Channel.PHONE else
    (Channel.OTHER.value, "Meeting or other") if value == Channel.OTHER else (value, label)
    for value, label in Channel.choices
]  # fmt: skip


class LogCommunicationForm(CaseForm):
    """A message, call or meeting; an uploaded .eml fills in what is left blank."""

    field_aliases = {"file": "attachments"}

    direction = forms.ChoiceField(label="Direction", choices=Direction.choices)
    channel = forms.ChoiceField(label="Channel", choices=CHANNELS, initial=Channel.EMAIL)
    eml = forms.FileField(
        label="Raw e-mail (.eml)",
        required=False,
        help_text=(
            "Optional. Its From, To, Cc, Date, Subject, body and attachments fill the "
            "fields left blank; the raw message is kept as evidence."
        ),
    )
    occurred_at = LocalDateTimeField(label="When", required=False)
    sender = forms.CharField(label="From", max_length=320, required=False)
    recipients = forms.CharField(
        label="To (or who attended)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )
    subject = forms.CharField(label="Subject", max_length=500, required=False)
    body = forms.CharField(
        label="Content",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="The message, or a summary of the call or meeting.",
    )
    attachments = MultipleFileField(label="Attachments", required=False)
    attachments_visibility = visibility_field(EvidenceKind.ATTACHMENT)

    parsed: ParsedEmail | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments_visibility"].help_text += (
            " The raw .eml and its attachments count as attachments; an internal note's "
            "files are always internal."
        )

    def clean_eml(self):
        upload = self.cleaned_data.get("eml")
        if upload:
            if upload.size > EML_MAX_BYTES:
                raise forms.ValidationError(
                    f"The .eml file is larger than {EML_MAX_BYTES // 2**20} MiB: attach its "
                    "parts as evidence instead."
                )
            raw = upload.read()
            try:
                self.parsed = parse_eml(raw)
            except ValidationFailed as e:
                raise forms.ValidationError(e.message) from e
            self.raw_eml = raw
        return upload

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        p = self.parsed
        if p is not None:
            d["occurred_at"] = d.get("occurred_at") or p.date
            d["sender"] = d.get("sender") or p.sender
            if not lines(d.get("recipients", "")):
                d["recipients"] = "\n".join([*p.to, *(f"cc: {a}" for a in p.cc)])
            d["subject"] = d.get("subject") or p.subject
            d["body"] = d.get("body") or p.body
        if d.get("occurred_at") is None and "occurred_at" not in self.errors:
            self.add_error("occurred_at", "Say when it happened (or upload the .eml).")
        if not d.get("sender") and "sender" not in self.errors:
            self.add_error("sender", "Say who sent it (or upload the .eml).")
        return d

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        shared = shared_choice(d["attachments_visibility"])
        files = incoming(d["attachments"], EvidenceKind.ATTACHMENT, shared)
        if self.parsed is not None:
            upload = d["eml"]
            files = [
                IncomingFile(
                    name=upload.name,
                    stream=io.BytesIO(self.raw_eml),
                    kind=EvidenceKind.ATTACHMENT,
                    shared=shared,
                ),
                *(
                    IncomingFile(
                        name=a.name,
                        stream=io.BytesIO(a.content),
                        kind=EvidenceKind.ATTACHMENT,
                        shared=shared,
                    )
                    for a in self.parsed.attachments
                ),
                *files,
            ]
        return {
            "direction": d["direction"],
            "channel": d["channel"],
            "sender": d["sender"],
            "recipients": lines(d["recipients"]),
            "subject": d["subject"],
            "body": d["body"],
            "occurred_at": d["occurred_at"],
            "attachments": files,
        }


class AttachEvidenceForm(CaseForm):
    field_aliases = {"occurred_at": "captured_at"}

    file = forms.FileField(label="File")
    kind = forms.ChoiceField(label="Kind", choices=EvidenceKind.choices, initial=EvidenceKind.OTHER)
    visibility = visibility_field()
    description = forms.CharField(
        label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    captured_at = LocalDateTimeField(
        label="Captured at", required=False, help_text="When the content was captured, if known."
    )

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        upload = d["file"]
        return {
            "file": IncomingFile(
                name=upload.name,
                stream=upload,
                kind=d["kind"],
                description=d["description"],
                captured_at=d["captured_at"],
                shared=shared_choice(d["visibility"]),
            )
        }


def _text(label: str, rows: int = 3, **kwargs: Any) -> forms.CharField:
    return forms.CharField(label=label, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


class FileDisputeForm(CaseForm):
    field_aliases = {"occurred_at": "filed_at"}

    subject = forms.CharField(label="What is disputed", max_length=300)
    firm_position = _text("Our position")
    firm_provenance = _text("Where our position comes from", rows=2)
    vendor_position = _text("The vendor's position")
    vendor_provenance = _text("Where the vendor's position comes from", rows=2)
    filed_at = LocalDateTimeField(
        label="Arose at", required=False, help_text="Leave blank for now."
    )

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class CorrectEventForm(CaseForm):
    seq = forms.IntegerField(
        label="Event number (seq)",
        min_value=1,
        max_value=2**31 - 1,
        help_text="The # of the event on the timeline.",
    )
    reason = _text("Reason for the correction")
    occurred_at = LocalDateTimeField(
        label="Corrected time",
        required=False,
        help_text="For a stage or acknowledgement event: when it really happened.",
    )
    statement = _text("Statement of what was wrong", required=False)

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class SetLegalHoldForm(CaseForm):
    on = forms.TypedChoiceField(
        label="Legal hold",
        choices=[("true", "Place a legal hold"), ("false", "Lift the legal hold")],
        coerce=lambda v: v == "true",
        widget=forms.RadioSelect,
    )
    reason = _text("Reason")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("on", "false" if self.case.legal_hold else "true")

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class EscalateForm(CaseForm):
    field_aliases = {"occurred_at": "escalated_at"}

    target = forms.ChoiceField(label="Escalated to (kind)", choices=Escalation.Target.choices)
    organization = forms.CharField(label="Organization", max_length=200)
    their_reference = forms.CharField(label="Their reference", max_length=200, required=False)
    reason = _text("Reason")
    escalated_at = LocalDateTimeField(label="Escalated at")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now_initial("escalated_at")

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)


class OpenFollowUpForm(CaseForm):
    """A re-exposure of this case's asset, opened as a linked case."""

    field_aliases = {
        "occurred_at": "found_at",
        "file": "exposure_evidence",
        "kind": "evidence_kind",
    }

    found_at = LocalDateTimeField(label="Found exposed again at")
    how_found = _text("How it was found")
    title = forms.CharField(
        label="Title", max_length=300, required=False, help_text="Blank: 'Re-exposure: <title>'."
    )
    asset_identifier = forms.CharField(
        label="Asset URL or identifier",
        max_length=1000,
        required=False,
        help_text="Blank: the same asset as this case.",
    )
    exposure_evidence = MultipleFileField(label="Exposure evidence")
    evidence_kind = forms.ChoiceField(
        label="Evidence kind", choices=EXPOSURE_KINDS, initial=EvidenceKind.EXPOSURE_CAPTURE
    )
    evidence_visibility = visibility_field(EvidenceKind.EXPOSURE_CAPTURE)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now_initial("found_at")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "found_at": d["found_at"],
            "how_found": d["how_found"],
            "title": d["title"] or None,
            "asset_identifier": d["asset_identifier"] or None,
            "exposure_evidence": incoming(
                d["exposure_evidence"], d["evidence_kind"], shared_choice(d["evidence_visibility"])
            ),
        }
