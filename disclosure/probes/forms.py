"""The re-probe settings form (staff)."""

from typing import Any

from django import forms

from disclosure.core.forms import DomainErrorForm

from .services import MAX_INTERVAL_HOURS


class ScheduleForm(DomainErrorForm):
    paused = forms.BooleanField(label="Paused", required=False)
    interval_hours = forms.IntegerField(
        label="Probe every (hours)", min_value=1, max_value=MAX_INTERVAL_HOURS
    )
    url = forms.CharField(
        label="Probe URL",
        required=False,
        max_length=1000,
        help_text="Blank: built from the asset (its provider's anonymous listing).",
    )

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {"paused": d["paused"], "interval_hours": d["interval_hours"], "url": d["url"]}
