"""Forms of the stage actions: notify, acknowledge, secure, record deletion,
publish and close. Each reads its times in the case's time zone."""

from typing import Any

from django import forms

from disclosure.accounts.selectors import staff_members
from disclosure.cases import access, choices, transitions
from disclosure.cases.stages import CloseReason
from disclosure.comms.models import Channel
from disclosure.core.formatting import case_time_text
from disclosure.evidence.models import DeletionMethod, EvidenceKind

from .base import (
    CaseForm,
    LocalDateTimeField,
    MultipleFileField,
    NoteMixin,
    incoming,
    lines,
    shared_choice,
    visibility_field,
)


class NotifyVendorForm(NoteMixin, CaseForm):
    """The first notice to the vendor, as a communication."""

    field_aliases = {"file": "attachments"}

    occurred_at = LocalDateTimeField(label="Notice sent at")
    channel = forms.ChoiceField(label="Channel", choices=Channel.choices, initial=Channel.EMAIL)
    sender = forms.CharField(label="From", max_length=320)
    recipients = forms.CharField(
        label="To",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One recipient (address or name) per line.",
    )
    subject = forms.CharField(label="Subject", max_length=500, required=False)
    body = forms.CharField(
        label="Message", required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    attachments = MultipleFileField(label="Attachments", required=False)
    attachments_visibility = visibility_field(EvidenceKind.NOTICE)

    field_order = [
        "occurred_at", "channel", "sender", "recipients", "subject", "body", "attachments",
        "attachments_visibility",
    ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now_initial("occurred_at")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "occurred_at": d["occurred_at"],
            "channel": d["channel"],
            "sender": d["sender"],
            "recipients": lines(d["recipients"]),
            "subject": d["subject"],
            "body": d["body"],
            "attachments": incoming(
                d["attachments"], EvidenceKind.NOTICE, shared_choice(d["attachments_visibility"])
            ),
            **self.note_kwargs(),
        }


class AcknowledgeForm(NoteMixin, CaseForm):
    occurred_at = LocalDateTimeField(label="Acknowledged at")

    field_order = ["occurred_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now_initial("occurred_at")

    def service_kwargs(self) -> dict[str, Any]:
        return {"occurred_at": self.cleaned_data["occurred_at"], **self.note_kwargs()}


class SecureForm(NoteMixin, CaseForm):
    """Secured, on a re-test result or the vendor's confirmation."""

    field_aliases = {"file": "evidence"}

    occurred_at = LocalDateTimeField(label="Secured at")
    retest_result = forms.CharField(
        label="Re-test result",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="What a re-test shows, e.g. '403 on anonymous listing'.",
    )
    confirmation = forms.ModelChoiceField(
        label="Vendor's confirmation",
        queryset=None,
        required=False,
        empty_label="None (a re-test result instead)",
        help_text="A message from the vendor logged on this case.",
    )
    evidence = MultipleFileField(label="Re-test evidence", required=False)
    evidence_visibility = visibility_field(EvidenceKind.RETEST_RESULT)

    field_order = [
        "occurred_at", "retest_result", "confirmation", "evidence", "evidence_visibility",
    ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirmation"].queryset = choices.inbound_communications(self.user, self.case)
        self.fields["confirmation"].label_from_instance = lambda c: (
            f"{case_time_text(c.occurred_at, self.tz_name)} · {c.sender} · "
            f"{c.subject or c.body[:60]}"
        )
        self.now_initial("occurred_at")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "occurred_at": d["occurred_at"],
            "retest_result": d["retest_result"],
            "confirmation": d["confirmation"],
            "evidence": incoming(
                d["evidence"], EvidenceKind.RETEST_RESULT, shared_choice(d["evidence_visibility"])
            ),
            **self.note_kwargs(),
        }


def parse_items(text: str) -> list[dict[str, Any]]:
    """Lines 'path, bytes, sha256' as the attestation's manifest; raises
    forms.ValidationError naming the first bad line. The path may hold commas."""
    items = []
    for i, line in enumerate(lines(text), start=1):
        parts = [p.strip() for p in line.rsplit(",", 2)]
        if len(parts) != 3 or not parts[0]:
            raise forms.ValidationError(f"Line {i} ({line!r}) is not 'path, bytes, sha256'.")
        path, size, digest = parts
        size = size.replace("_", "")
        if not size.isdigit():
            raise forms.ValidationError(
                f"Line {i}: the size {parts[1]!r} is not a number of bytes."
            )
        items.append({"path": path, "bytes": int(size), "sha256": digest})
    return items


class RecordDeletionForm(NoteMixin, CaseForm):
    """The deletion attestation (NIST SP 800-88 fields) and its manifest."""

    field_aliases = {"occurred_at": "performed_at", "file": "evidence"}

    items = forms.CharField(
        label="Deleted items",
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One 'path, bytes, sha256' per line.",
    )
    method = forms.ChoiceField(
        label="Sanitization method (NIST SP 800-88)", choices=DeletionMethod.choices
    )
    tool = forms.CharField(label="Tool and version", max_length=200)
    performed_by = forms.ModelChoiceField(label="Performed by", queryset=None)
    performed_at = LocalDateTimeField(label="Performed at")
    verified_by = forms.ModelChoiceField(
        label="Verified by", queryset=None, help_text="Another staff member."
    )
    verification = forms.CharField(
        label="Verification",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="How the deletion was verified.",
    )
    retained_metadata = forms.CharField(
        label="Metadata retained",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One kind per line, e.g. 'domain'.",
    )
    retention_reason = forms.CharField(
        label="Why it is retained", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    evidence = MultipleFileField(label="Deletion evidence (logs)", required=False)
    evidence_visibility = visibility_field(EvidenceKind.DELETION_LOG)
    confirm = forms.BooleanField(
        label="I confirm that our copies were destroyed: this cannot be undone.",
    )

    field_order = [
        "items", "method", "tool", "performed_by", "performed_at", "verified_by",
        "verification", "retained_metadata", "retention_reason", "evidence",
        "evidence_visibility",
    ]  # fmt: skip

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["performed_by"].queryset = staff_members()
        self.fields["verified_by"].queryset = staff_members()
        self.initial.setdefault("performed_by", self.user.pk)
        self.now_initial("performed_at")
        # The confirmation comes last, after the note.
        self.fields["confirm"] = self.fields.pop("confirm")

    def clean_items(self) -> list[dict[str, Any]]:
        return parse_items(self.cleaned_data["items"])

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "items": d["items"],
            "method": d["method"],
            "tool": d["tool"],
            "performed_by": d["performed_by"],
            "performed_at": d["performed_at"],
            "verified_by": d["verified_by"],
            "verification": d["verification"],
            "retained_metadata": lines(d["retained_metadata"]),
            "retention_reason": d["retention_reason"],
            "evidence": incoming(
                d["evidence"], EvidenceKind.DELETION_LOG, shared_choice(d["evidence_visibility"])
            ),
            **self.note_kwargs(),
        }


class PublishForm(CaseForm):
    """The advisory; before the asset is secured only with a lead's override."""

    confirm_page = True

    occurred_at = LocalDateTimeField(label="Published at")
    url = forms.URLField(label="Advisory URL", max_length=1000, assume_scheme="https")
    title = forms.CharField(label="Advisory title", max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        t = transitions.get("publish")
        if self.case.stage not in t.source and access.can_override(self.user, "publish", self.case):
            self.fields["override_justification"] = forms.CharField(
                label="Override justification",
                widget=forms.Textarea(attrs={"rows": 4}),
                help_text=(
                    "The asset is not recorded as secured: publishing now is a lead's "
                    "override. Say why, in writing; it is recorded."
                ),
            )
        self.now_initial("occurred_at")

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "occurred_at": d["occurred_at"],
            "url": d["url"],
            "title": d["title"],
            "override_justification": d.get("override_justification", ""),
        }


class CloseForm(NoteMixin, CaseForm):
    confirm_page = True

    reason = forms.ChoiceField(label="Close reason", choices=CloseReason.choices)
    occurred_at = LocalDateTimeField(
        label="Closed at", required=False, help_text="Leave blank for now."
    )

    field_order = ["reason", "occurred_at", "note"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case.stage == "published":
            self.initial.setdefault("reason", CloseReason.PUBLISHED)
        self.fields["note"].help_text = (
            "Why, when not published; which case, when a duplicate. "
            + self.fields["note"].help_text
        )

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"reason": d["reason"], "occurred_at": d["occurred_at"], **self.note_kwargs()}
