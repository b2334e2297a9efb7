"""Small validators shared by the services."""

from typing import Any

from django.db import models

from .errors import ValidationFailed


def clean_text(
    value: Any,
    *,
    field: str,
    model: type[models.Model] | None = None,
    required: bool = False,
    message: str | None = None,
    name: str | None = None,
    label: str | None = None,
) -> str:
    """``value`` stripped, checked to be text (that fits ``model.field`` when
    a model is given; free text such as a note or a reason has no limit).

    Raises ValidationFailed (with ``field``) for a non-string, for an empty
    value when ``required`` (with ``message`` if given), and for text longer
    than the column, which PostgreSQL would otherwise refuse with a 500.
    The error names ``name`` (the caller's argument; default ``field``) and
    speaks of ``label`` (default: the name in words).
    """
    name = name or field
    label = label or name.replace("_", " ")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"The {label} must be text.", field=name)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(message or f"The {label} is required.", field=name)
    limit = model._meta.get_field(field).max_length if model is not None else None
    if limit is not None and len(value) > limit:
        raise ValidationFailed(
            f"The {label} is too long (longer than {limit} characters).", field=name
        )
    return value
