"""Forms of mail to the vendor (comms.outbound) and of the mail templates
(comms.templates)."""

from typing import Any

from django import forms

from disclosure.cases import selectors
from disclosure.comms.addresses import known_addresses
from disclosure.comms.models import Communication, Direction, TemplateKey
from disclosure.comms.outbound import can_record_notified, is_first_notice
from disclosure.comms.templates import PLACEHOLDERS
from disclosure.core.forms import DomainErrorForm
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile

from .base import CaseForm, MultipleFileField, lines


class ComposeMailForm(CaseForm):
    """Mail to the vendor: recipients from its known addresses, or typed in
    for a first notice with where they were found."""

    field_aliases = {"attach_evidence_ids": "attach_evidence", "in_reply_to": "body"}

    template_key = forms.ChoiceField(
        choices=[("", "None"), *TemplateKey.choices], required=False, widget=forms.HiddenInput
    )
    in_reply_to = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    to = forms.MultipleChoiceField(
        label="To", required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    to_other = forms.CharField(
        label="To (other addresses)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line. Any address at the vendor's domains; any other address "
        "only in a first notice, saying where you found it below.",
    )
    cc = forms.MultipleChoiceField(
        label="Cc", required=False, widget=forms.CheckboxSelectMultiple, choices=()
    )
    cc_other = forms.CharField(
        label="Cc (other addresses)", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line.",
    )  # fmt: skip
    found_at_source = forms.CharField(
        label="Where the address was found",
        required=False,
        max_length=1000,
        help_text="For a first notice to an address not known for the vendor: the URL of "
        "its security.txt, or 'rfc2142' for a role mailbox (security@, abuse@, postmaster@, "
        "hostmaster@, webmaster@, info@).",
    )
    subject = forms.CharField(
        label="Subject", max_length=500,
        help_text="The case reference is added in brackets when missing.",
    )  # fmt: skip
    body = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 18}))
    attach_evidence = forms.MultipleChoiceField(
        label="Attach evidence of the case",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=(),
        help_text="Sent as stored (checked against its SHA-256). An internal file sent to "
        "the vendor becomes shared.",
    )
    attachments = MultipleFileField(
        label="Attach new files", required=False, help_text="Kept as evidence of the case."
    )
    record_notified = forms.BooleanField(
        label="Record as vendor notified",
        required=False,
        help_text="This mail is the first notice: the case enters 'vendor notified' with it "
        "as the notice.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        case, user = self.case, self.user
        known = known_addresses(case.vendor)
        choices = [(k.address, f"{k.address} ({k.source})") for k in known]
        self.fields["to"].choices = choices
        self.fields["cc"].choices = choices
        if not choices:
            self.fields["to"].widget = forms.MultipleHiddenInput()
            self.fields["cc"].widget = forms.MultipleHiddenInput()
        files = (
            selectors.evidence_for(user, case)
            .exclude(kind=EvidenceKind.RAW_MESSAGE)
            .order_by("uploaded_at", "id")
        )
        self.fields["attach_evidence"].choices = [
            (str(f.pk), f"{f.original_name} ({f.get_kind_display()}, {f.size:,} bytes"
             f"{', internal' if f.internal else ''})")
            for f in files
        ]  # fmt: skip
        if not can_record_notified(user, case):
            del self.fields["record_notified"]
        if not is_first_notice(case, self.data.get("template_key") or self.initial.get(
            "template_key", ""
        )):  # fmt: skip
            del self.fields["found_at_source"]

    def clean(self) -> dict[str, Any]:
        d = super().clean()
        to = [*d.get("to", []), *lines(d.get("to_other", ""))]
        if not to and "to" not in self.errors:
            self.add_error("to", "Choose or type at least one address.")
        d["to_all"] = to
        d["cc_all"] = [*d.get("cc", []), *lines(d.get("cc_other", ""))]
        return d

    def reply_to(self) -> Communication | None:
        comm_id = self.cleaned_data.get("in_reply_to")
        if not comm_id:
            return None
        return (
            selectors.communications_for(self.user, self.case)
            .exclude(direction=Direction.INTERNAL)
            .filter(pk=comm_id)
            .first()
        )

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        in_reply_to = self.reply_to()
        if d.get("in_reply_to") and in_reply_to is None:
            from disclosure.core.errors import ValidationFailed

            raise ValidationFailed("The message answered is not on this case.", field="body")
        return {
            "to": d["to_all"],
            "cc": d["cc_all"],
            "subject": d["subject"],
            "body": d["body"],
            "template_key": d.get("template_key") or "",
            "attach_evidence_ids": [int(x) for x in d.get("attach_evidence", [])],
            "attachments": [
                IncomingFile(name=f.name, stream=f, kind=EvidenceKind.ATTACHMENT)
                for f in d.get("attachments", [])
            ],
            "in_reply_to": in_reply_to,
            "record_notified": bool(d.get("record_notified")),
            "found_at_source": d.get("found_at_source", ""),
        }


class MailTemplateForm(DomainErrorForm):
    subject = forms.CharField(label="Subject", max_length=500)
    body = forms.CharField(
        label="Text",
        widget=forms.Textarea(attrs={"rows": 24}),
        help_text="Placeholders: "
        + ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS)
        + ". Nothing else inside {{ }} is accepted.",
    )
