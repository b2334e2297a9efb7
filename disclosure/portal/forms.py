"""The portal's forms: one per vendor action, each handing its service
plain values; domain errors become form errors."""

from typing import Any

from django import forms

from disclosure.core.forms import (
    CaseBoundForm,
    DomainErrorForm,
    LocalDateTimeField,
    MultipleFileField,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile

# Every portal upload form says who sees the file (a contact's upload is
# always shared: ``evidence.services.write_evidence``).
SHARED_UPLOAD = "Shared: the research firm and your organization's contacts see it on this case."


class PortalCaseForm(CaseBoundForm):
    """A form acting on one case for one contact (times in the case's zone,
    domain errors on the field they name)."""


class AcknowledgeForm(PortalCaseForm):
    note = forms.CharField(
        label="Note to the research firm (optional)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {"occurred_at": now(), "note": self.cleaned_data["note"]}


class MessageForm(PortalCaseForm):
    subject = forms.CharField(label="Subject", max_length=500, required=False)
    body = forms.CharField(label="Message", widget=forms.Textarea(attrs={"rows": 6}))
    attachments = MultipleFileField(
        label="Attachments (optional)", required=False, help_text=SHARED_UPLOAD
    )

    def service_kwargs(self) -> dict[str, Any]:
        user = self.user
        sender = user.display_name() + (f" <{user.email}>" if user.email else "")
        return {
            "direction": "inbound",
            "channel": "portal",
            "sender": sender,
            "recipients": [f"{self.case.reference} research team"],
            "subject": self.cleaned_data["subject"],
            "body": self.cleaned_data["body"],
            "occurred_at": now(),
            "attachments": [
                IncomingFile(name=f.name, stream=f) for f in self.cleaned_data["attachments"]
            ],
        }


_VENDOR_EVIDENCE_KINDS = [
    (EvidenceKind.VENDOR_CONFIRMATION, EvidenceKind.VENDOR_CONFIRMATION.label),
    (EvidenceKind.SCREENSHOT, EvidenceKind.SCREENSHOT.label),
    (EvidenceKind.RETEST_RESULT, "Test result (e.g. the asset now refuses access)"),
    (EvidenceKind.OTHER, EvidenceKind.OTHER.label),
]


class EvidenceForm(PortalCaseForm):
    file = forms.FileField(label="File", help_text=SHARED_UPLOAD)
    kind = forms.ChoiceField(label="What it shows", choices=_VENDOR_EVIDENCE_KINDS)
    description = forms.CharField(
        label="Description (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    field_aliases = {"occurred_at": "file"}

    def service_kwargs(self) -> dict[str, Any]:
        f = self.cleaned_data["file"]
        return {
            "file": IncomingFile(
                name=f.name,
                stream=f,
                kind=self.cleaned_data["kind"],
                description=self.cleaned_data["description"],
            )
        }


class SecureForm(PortalCaseForm):
    occurred_at = LocalDateTimeField(label="When was the asset secured?")
    note = forms.CharField(
        label="How was it secured?",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example: public access removed from the container, keys rotated.",
    )
    evidence = MultipleFileField(
        label="Proof (optional, e.g. a screenshot)", required=False, help_text=SHARED_UPLOAD
    )
    confirm = forms.BooleanField(
        label="I confirm the asset is no longer publicly reachable.", required=True
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("occurred_at", now())

    def service_kwargs(self) -> dict[str, Any]:
        return {
            "occurred_at": self.cleaned_data["occurred_at"],
            "note": self.cleaned_data["note"],
            "note_shared": True,
            "evidence": [
                IncomingFile(name=f.name, stream=f) for f in self.cleaned_data["evidence"]
            ],
        }


class CountersignForm(PortalCaseForm):
    name = forms.CharField(label="Your name", max_length=150)
    title = forms.CharField(label="Your title", max_length=150)
    statement = forms.CharField(
        label="Statement",
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="We acknowledge receipt of this deletion attestation.",
    )
    confirm = forms.BooleanField(
        label="I countersign the deletion attestation on behalf of my organization.",
        required=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("name", self.user.display_name())

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "statement": f"{d['statement'].strip()}\n— {d['name'].strip()}, {d['title'].strip()}"
        }


class DisputeForm(PortalCaseForm):
    subject = forms.CharField(
        label="What do you dispute?",
        max_length=300,
        help_text="For example: the number of affected entities.",
    )
    firm_position = forms.CharField(
        label="The research firm's claim", widget=forms.Textarea(attrs={"rows": 2})
    )
    firm_provenance = forms.CharField(
        label="Where the firm states it",
        help_text="For example: the notice of 24 September, the case details on this portal.",
    )
    vendor_position = forms.CharField(
        label="Your position", widget=forms.Textarea(attrs={"rows": 4})
    )
    vendor_provenance = forms.CharField(
        label="How you established it",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Your method and sources, so that both positions can be weighed.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.case.affected_entity_count is not None:
            self.initial.setdefault(
                "firm_position", f"{self.case.affected_entity_count:,} affected entities."
            )
            self.initial.setdefault("firm_provenance", "The case details shown on this portal.")

    def service_kwargs(self) -> dict[str, Any]:
        return {k: self.cleaned_data[k] for k in (
            "subject", "firm_position", "firm_provenance", "vendor_position", "vendor_provenance"
        )}  # fmt: skip


class AcceptInvitationForm(DomainErrorForm):
    first_name = forms.CharField(label="First name", max_length=150, required=False)
    last_name = forms.CharField(label="Last name", max_length=150, required=False)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, strip=False)
    password_again = forms.CharField(
        label="Password again", widget=forms.PasswordInput, strip=False, required=False
    )

    def __init__(self, *args: Any, existing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.existing = existing
        if existing:  # the owner of the address signs in with their password
            for name in ("first_name", "last_name", "password_again"):
                del self.fields[name]
            self.fields["password"].label = "Your current password"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.existing and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data
