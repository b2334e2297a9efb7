"""What every staff form shares: times in a named time zone, multiple file
uploads, line-based inputs, stage notes, and domain errors as form errors."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms

from disclosure.core.formatting import case_time_text
from disclosure.core.forms import (  # noqa: F401 (the staff forms import these from here)
    CaseBoundForm,
    DomainErrorForm,
    LocalDateTimeField,
    MultipleFileField,
    time_zone_names,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import shared_by_default, visibility_default_text
from disclosure.evidence.services import IncomingFile

SHARED, INTERNAL = "shared", "internal"
VISIBILITY_CHOICES = [
    (SHARED, "Shared: the vendor sees it in the portal"),
    (INTERNAL, "Internal: the firm only"),
]


def visibility_field(kind: str | None = None) -> forms.ChoiceField:
    """Whether the vendor sees the uploaded files, the default stated and
    preselected: ``kind``'s default, or for a form where the kind is chosen
    too, "the kind's default". Blank (a client that does not send it) is
    the default as well."""
    if kind is not None:
        choices, initial = VISIBILITY_CHOICES, SHARED if shared_by_default(kind) else INTERNAL
    else:
        choices, initial = [("", "The kind's default"), *VISIBILITY_CHOICES], ""
    return forms.ChoiceField(
        label="Does the vendor see the file?",
        choices=choices,
        initial=initial,
        required=False,
        widget=forms.RadioSelect,
        help_text=visibility_default_text(kind),
    )


def shared_choice(value: str | None) -> bool | None:
    """A visibility_field's value as ``IncomingFile.shared`` (None: default)."""
    return {SHARED: True, INTERNAL: False}.get(value or "")


def incoming(files: Iterable[Any], kind: str, shared: bool | None = None) -> list[IncomingFile]:
    """Uploaded files as the services take them, filed as ``kind``, shared
    with the vendor or not (None: the kind's default)."""
    return [IncomingFile(name=f.name, stream=f, kind=kind, shared=shared) for f in files]


def lines(text: str) -> list[str]:
    """The non-blank lines of ``text``, stripped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


StaffForm = DomainErrorForm


class CaseForm(CaseBoundForm):
    """A staff form acting on one case (see ``CaseBoundForm``), with times
    that start at the present minute and a summary for confirm pages."""

    def now_initial(self, *names: str) -> None:
        """Start the time fields ``names`` at the present minute."""
        for name in names:
            self.initial.setdefault(name, now())

    def summary(self) -> list[tuple[str, str]]:
        """(label, value as text) of every field given, for a confirm page:
        choices by their label, times in the case's zone and in UTC."""
        out = []
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if value in (None, "", [], False):
                continue
            if isinstance(value, datetime):
                text = case_time_text(value, self.tz_name)  # as on the case page
            elif value is True:
                text = "Yes"
            elif isinstance(field, forms.ChoiceField) and not hasattr(field, "queryset"):
                text = str(dict(field.choices).get(value, value))
            else:
                text = str(value)
            out.append((str(field.label), text))
        return out


class NoteMixin(forms.Form):
    """A stage's note, internal unless shared with the vendor."""

    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Internal to the firm unless you share it.",
    )
    note_shared = forms.BooleanField(label="Share this note with the vendor", required=False)

    def note_kwargs(self) -> dict[str, Any]:
        return {"note": self.cleaned_data["note"], "note_shared": self.cleaned_data["note_shared"]}
