"""Form pieces every browser interface (staff UI, portal) shares: times read
in a named time zone, multiple file uploads, and domain errors shown as
form errors on the field they name."""

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from .errors import DomainError
from .timeutils import now

INPUT_FORMAT = "%Y-%m-%dT%H:%M"


def time_zone_names() -> list[str]:
    """Every IANA time zone name, UTC first."""
    return ["UTC", *sorted(z for z in zoneinfo.available_timezones() if z != "UTC")]


def utc_offset(tz_name: str, at: datetime | None = None) -> str:
    """'UTC+02:00' for ``tz_name`` at ``at`` (now by default)."""
    offset = (at or now()).astimezone(zoneinfo.ZoneInfo(tz_name)).strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}"


class LocalDateTimeField(forms.DateTimeField):
    """A wall-clock date and time read in the time zone ``tz_name`` (a time
    with an explicit offset keeps it). Cleans to an aware datetime; a time
    that does not exist or is ambiguous there is a validation error."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=INPUT_FORMAT)

    def __init__(self, *, tz_name: str = "UTC", **kwargs: Any) -> None:
        self.tz_name = tz_name
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> datetime | None:
        with timezone.override(zoneinfo.ZoneInfo(self.tz_name)):
            return super().to_python(value)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, datetime):
            if timezone.is_aware(value):
                value = value.astimezone(zoneinfo.ZoneInfo(self.tz_name))
            return value.strftime(INPUT_FORMAT)
        return value


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Zero or more uploaded files (one or more when required)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list:
        single = super().clean
        items = data if isinstance(data, list | tuple) else [data]
        files = [single(d, initial) for d in items if d]
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        return [f for f in files if f]


class DomainErrorForm(forms.Form):
    """A form that marks its invalid inputs for assistive technology and
    takes a service's domain errors as its own.

    ``field_aliases`` maps a service's error field to this form's field
    where the names differ (a service names every time ``occurred_at``)."""

    field_aliases: dict[str, str] = {}

    def full_clean(self) -> None:
        super().full_clean()
        self.mark_invalid()

    def mark_invalid(self) -> None:
        for name in self.errors:
            if name in self.fields:
                attrs = self.fields[name].widget.attrs
                attrs["aria-invalid"] = "true"
                attrs["aria-describedby"] = f"id_{name}_errors"

    def add_domain_error(self, error: DomainError) -> None:
        """``error`` on its field when this form has it, else on the form."""
        name = self.field_aliases.get(error.field or "", error.field)
        field = name if name in self.fields else None
        self.add_error(field, error.message)
        self.mark_invalid()


class CaseBoundForm(DomainErrorForm):
    """A form acting on one case: knows the case, the user and the case's
    time zone, in which every ``LocalDateTimeField`` is read and labelled."""

    def __init__(self, data=None, files=None, *, case, user, **kwargs: Any) -> None:
        super().__init__(data, files, **kwargs)
        self.case = case
        self.user = user
        self.tz_name = case.time_zone or "UTC"
        for field in self.fields.values():
            if isinstance(field, LocalDateTimeField):
                field.tz_name = self.tz_name
                hint = f"In the case's time zone, {self.tz_name} ({utc_offset(self.tz_name)})."
                field.help_text = f"{field.help_text} {hint}".strip()

    def service_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the action's service, besides actor and case."""
        raise NotImplementedError
