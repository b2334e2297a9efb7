"""Argument validation shared by the services: only domain errors escape.

- ``clean_text`` / ``check_text``: text that PostgreSQL can store (no NUL,
  no lone surrogates) and that is not absurdly long
  (``settings.DISCLOSURE_MAX_TEXT_CHARS``), optionally fitting a column.
- ``clean_name``: a display name (an organization's) normalised (NFKC, one
  space between words) and free of invisible, direction and control
  characters, so that two names that look the same are the same.
- ``check_url``: an http(s) address without spaces, controls or invisible
  characters (``urlsplit`` silently drops CR, LF and tab before parsing).
- ``check_int``, ``check_datetime``, ``check_instance``, ``check_stream``:
  whole numbers in a column's range, aware datetimes of years 1970..9999,
  saved model rows that still exist, binary file-like objects.
- ``validated``: a decorator that binds a service call to its signature
  (unknown or missing keyword: ValidationFailed naming it) and checks every
  argument against the service's type hints with the checks above.

Everything here raises ValidationFailed (InvalidTimestamp for times,
NotPermitted for an anonymous user where a user is expected) with
``field`` set to the caller's argument, before anything is written.
"""

import dataclasses
import functools
import inspect
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import models

from .errors import InvalidTimestamp, NotPermitted, ValidationFailed

DEFAULT_MAX_TEXT_CHARS = 1_000_000
MAX_ITEMS = 10_000  # elements of a list argument (recipients, files, manifest items)
INT64 = (-(2**63), 2**63 - 1)
# The ranges of Django's integer columns (as in BaseDatabaseOperations; SQLite
# itself checks none of them, PostgreSQL refuses anything outside).
COLUMN_RANGES: dict[str, tuple[int, int]] = {
    "SmallIntegerField": (-32768, 32767),
    "IntegerField": (-(2**31), 2**31 - 1),
    "BigIntegerField": INT64,
    "PositiveSmallIntegerField": (0, 32767),
    "PositiveIntegerField": (0, 2**31 - 1),
    "PositiveBigIntegerField": (0, 2**63 - 1),
}
YEARS = (1970, 9999)
_SURROGATE = re.compile("[\ud800-\udfff]")


def _label(name: str) -> str:
    return name.replace("_", " ")


def max_text_chars() -> int:
    return getattr(settings, "DISCLOSURE_MAX_TEXT_CHARS", DEFAULT_MAX_TEXT_CHARS)


def check_text(value: Any, *, field: str, label: str | None = None) -> str:
    """``value`` unchanged if it is storable text: a ``str`` without NUL
    characters or lone surrogates, at most DISCLOSURE_MAX_TEXT_CHARS long."""
    label = label or _label(field)
    if not isinstance(value, str):
        raise ValidationFailed(f"The {label} must be text.", field=field)
    if "\x00" in value:
        raise ValidationFailed(
            f"The {label} contains a NUL character, which cannot be stored.", field=field
        )
    if _SURROGATE.search(value):
        raise ValidationFailed(
            f"The {label} contains an invalid character (a lone UTF-16 surrogate).", field=field
        )
    limit = max_text_chars()
    if len(value) > limit:
        raise ValidationFailed(
            f"The {label} is too long (longer than {limit} characters).", field=field
        )
    return value


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
    """``value`` stripped, checked by ``check_text`` (None counts as empty)
    and to fit ``model.field`` when a model is given.

    Raises ValidationFailed (with ``field``) for a non-string, for an empty
    value when ``required`` (with ``message`` if given), for text longer
    than the column, and for anything ``check_text`` refuses. The error
    names ``name`` (the caller's argument; default ``field``) and speaks of
    ``label`` (default: the name in words).
    """
    name = name or field
    label = label or _label(name)
    if value is None:
        value = ""
    value = check_text(value, field=name, label=label).strip()
    if required and not value:
        raise ValidationFailed(message or f"The {label} is required.", field=name)
    limit = model._meta.get_field(field).max_length if model is not None else None
    if limit is not None and len(value) > limit:
        raise ValidationFailed(
            f"The {label} is too long (longer than {limit} characters).", field=name
        )
    return value


# Unicode categories a name or a URL may not hold: controls (Cc); format
# characters (Cf: zero-width space, non-joiner and joiner, word joiner,
# direction marks, embeddings, overrides and isolates, soft hyphen, byte-order
# mark, tags); surrogates, private use and unassigned code points; line and
# paragraph separators.
REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _refused_character(value: str, *, spaces: bool = False) -> str | None:
    """The first character of ``value`` in REFUSED_CATEGORIES (or, with
    ``spaces``, any white space), or None."""
    for char in value:
        if unicodedata.category(char) in REFUSED_CATEGORIES or (spaces and char.isspace()):
            return char
    return None


def _codepoint(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, '')}".rstrip()


def clean_name(
    value: Any,
    *,
    field: str,
    model: type[models.Model] | None = None,
    name: str | None = None,
    label: str | None = None,
) -> str:
    """``value`` as a display name: checked and stripped by ``clean_text``,
    refused (ValidationFailed) if it holds an invisible, direction or
    control character (REFUSED_CATEGORIES: ``Con\\u200btoso`` would look
    like Contoso beside it), then NFKC-normalised (fullwidth letters,
    ligatures, composed accents) with one space between words, and checked
    to fit ``model.field``. An empty name is returned empty: the caller says
    whether it is required."""
    name = name or field
    label = label or _label(name)
    value = clean_text(value, field=field, name=name, label=label)
    char = _refused_character(value)
    if char is not None:
        raise ValidationFailed(
            f"The {label} contains an invisible or control character ({_codepoint(char)}).",
            field=name,
        )
    value = " ".join(unicodedata.normalize("NFKC", value).split())
    limit = model._meta.get_field(field).max_length if model is not None else None
    if limit is not None and len(value) > limit:
        raise ValidationFailed(
            f"The {label} is too long (longer than {limit} characters).", field=name
        )
    return value


def check_url(value: Any, *, field: str, label: str | None = None) -> str:
    """``value`` if it is an http(s) address with a host, holding no white
    space and no invisible or control character (REFUSED_CATEGORIES):
    ``urlsplit`` drops CR, LF and tab before it parses, so without this a
    URL with a line break passed and was stored raw."""
    label = label or _label(field)
    value = check_text(value, field=field, label=label)
    char = _refused_character(value, spaces=True)
    if char is not None:
        raise ValidationFailed(
            f"The {label} contains a space or an invisible or control character "
            f"({_codepoint(char)}).",
            field=field,
        )
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationFailed(f"The {label} must be an http(s) address.", field=field)
    return value


def check_int(
    value: Any,
    *,
    field: str,
    minimum: int = INT64[0],
    maximum: int = INT64[1],
    label: str | None = None,
) -> int:
    """``value`` if it is a whole number (not a bool) in [minimum, maximum]."""
    label = label or _label(field)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed(f"The {label} must be a whole number.", field=field)
    if not minimum <= value <= maximum:
        raise ValidationFailed(f"The {label} must be between {minimum} and {maximum}.", field=field)
    return value


def column_range(model: type[models.Model], name: str) -> tuple[int, int]:
    """The values an integer column of ``model`` can hold."""
    return COLUMN_RANGES.get(model._meta.get_field(name).get_internal_type(), INT64)


def check_datetime(value: Any, *, field: str, label: str | None = None) -> datetime:
    """``value`` if it is a timezone-aware datetime whose UTC year is within
    1970..9999; raises InvalidTimestamp otherwise."""
    label = label or _label(field)
    if not isinstance(value, datetime):
        raise InvalidTimestamp(f"The {label} must be a date and time.", field=field)
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidTimestamp("Times need a time zone (e.g. 2022-09-24T08:00:00Z).", field=field)
    try:
        year = value.astimezone(UTC).year
    except (OverflowError, ValueError):
        year = None
    if year is None or not YEARS[0] <= year <= YEARS[1]:
        raise InvalidTimestamp(
            f"The {label} must be between the years {YEARS[0]} and {YEARS[1]}.", field=field
        )
    return value


def check_date(value: Any, *, field: str, label: str | None = None) -> date:
    """``value`` if it is a date (not a datetime)."""
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValidationFailed(f"The {label or _label(field)} must be a date.", field=field)
    return value


def check_instance(
    value: Any, model: type[models.Model], *, field: str, label: str | None = None
) -> models.Model:
    """``value`` if it is a saved ``model`` instance whose row still exists."""
    label = label or _label(field)
    what = model._meta.verbose_name
    if not isinstance(value, model):
        raise ValidationFailed(f"The {label} must be a {what}.", field=field)
    if value.pk is None:
        raise ValidationFailed(f"The {label} is a {what} that was never saved.", field=field)
    if getattr(model, "existence_checked_under_lock", False):
        return value  # the service re-reads the row under lock and answers NotFound
    if not value.__class__._default_manager.filter(pk=value.pk).exists():  # lazy users too
        raise ValidationFailed(f"The {label} is a {what} that does not exist.", field=field)
    return value


def check_stream(value: Any, *, field: str, label: str | None = None) -> Any:
    """``value`` if it is a readable binary file-like object."""
    label = label or _label(field)
    read = getattr(value, "read", None)
    if not callable(read):
        raise ValidationFailed(f"The {label} must be a readable file.", field=field)
    try:
        probe = read(0)
    except Exception as exc:  # a closed or unreadable stream, whatever its kind
        raise ValidationFailed(f"The {label} cannot be read.", field=field) from exc
    if not isinstance(probe, bytes):
        raise ValidationFailed(f"The {label} must be opened in binary mode.", field=field)
    return value


def check_sequence(value: Any, *, field: str, label: str | None = None) -> Sequence:
    """``value`` if it is a list or tuple (not text) of at most MAX_ITEMS."""
    label = label or _label(field)
    if isinstance(value, str | bytes | bytearray) or not isinstance(value, Sequence):
        raise ValidationFailed(f"The {label} must be a list.", field=field)
    if len(value) > MAX_ITEMS:
        raise ValidationFailed(f"The {label} has more than {MAX_ITEMS} items.", field=field)
    return value


def check_mapping(value: Any, *, field: str, label: str | None = None) -> Mapping:
    """``value`` if it is a mapping (a dict) of at most MAX_ITEMS entries."""
    label = label or _label(field)
    if not isinstance(value, Mapping):
        raise ValidationFailed(f"The {label} must be a mapping of names to values.", field=field)
    if len(value) > MAX_ITEMS:
        raise ValidationFailed(f"The {label} has more than {MAX_ITEMS} entries.", field=field)
    return value


def check_value(value: Any, hint: Any, *, field: str) -> None:
    """Check ``value`` against the type hint ``hint`` (see ``validated``)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty or hint is object:
        return
    if origin is typing.Annotated:
        return check_value(value, args[0], field=field)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return
        errors: list[ValidationFailed | InvalidTimestamp] = []
        for option in (a for a in args if a is not type(None)):
            try:
                return check_value(value, option, field=field)
            except (ValidationFailed, InvalidTimestamp) as exc:
                errors.append(exc)
        raise errors[0]
    if value is None and hint in (str, datetime):
        return  # empty text or no time: the service says whether it is required
    if value is None:
        raise ValidationFailed(f"The {_label(field)} is required.", field=field)
    if _is_user_model(hint) and getattr(value, "is_authenticated", True) is False:
        raise NotPermitted("Sign in first: anonymous users cannot change cases.", field=field)
    if hint is str:
        check_text(value, field=field)
    elif hint is bool:
        if not isinstance(value, bool):
            raise ValidationFailed(f"The {_label(field)} must be true or false.", field=field)
    elif hint is int:
        check_int(value, field=field)
    elif hint is datetime:
        if isinstance(value, datetime) and value.tzinfo is None:
            return  # naive: the service's time rules refuse it, saying why
        check_datetime(value, field=field)
    elif hint is date:
        check_date(value, field=field)
    elif origin in (Sequence, list, tuple):
        for item in check_sequence(value, field=field):
            check_value(item, args[0] if args else Any, field=field)
    elif origin in (Mapping, dict):
        for key, item in check_mapping(value, field=field).items():
            check_value(key, args[0] if args else Any, field=field)
            check_value(item, args[1] if args else Any, field=field)
    elif hint is typing.IO or origin is typing.IO:
        check_stream(value, field=field)
    elif isinstance(hint, type) and issubclass(hint, models.Model):
        check_instance(value, hint, field=field)
    elif isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, hint):
            raise ValidationFailed(f"The {_label(field)} must be a {hint.__name__}.", field=field)
        hints = typing.get_type_hints(hint, include_extras=True)
        for f in dataclasses.fields(hint):
            check_value(getattr(value, f.name), hints.get(f.name, Any), field=field)
    elif isinstance(hint, type) and not isinstance(value, hint):
        raise ValidationFailed(f"The {_label(field)} must be a {hint.__name__}.", field=field)


def _is_user_model(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, AbstractBaseUser)


F = TypeVar("F", bound=Callable[..., Any])


def validated(func: F) -> F:
    """Make ``func`` (a keyword-only service) refuse, with ValidationFailed
    or InvalidTimestamp naming the argument, before it runs: positional,
    unknown and missing arguments, and any argument that does not match its
    type hint (``str``: storable text, or None, which the service treats as
    empty; ``int``: 64-bit; ``datetime``: aware and of the years 1970..9999,
    or None or naive, which the service's time rules refuse with their own
    message; ``bool``; ``Sequence[X]``/``Mapping[K, V]``: a list/dict of
    checked items; a model class: a saved row that exists (a user model:
    NotPermitted for an anonymous user); ``IO``: a binary
    stream; a dataclass: each field by its hints; ``X | None``). Values of a
    ``**kwargs`` parameter are left to the service."""
    signature = inspect.signature(func)
    params = signature.parameters
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = {n: p for n, p in params.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    required = [n for n, p in named.items() if p.default is p.empty]
    hints: dict[str, Any] = {}

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if args:
            raise ValidationFailed(f"{func.__name__} takes keyword arguments only.")
        if not hints:
            hints.update(typing.get_type_hints(func, include_extras=True))
        for name in kwargs:
            if name not in named and not var_keyword:
                raise ValidationFailed(f"Unknown argument {name!r}.", field=name)
        for name in required:
            if name not in kwargs:
                raise ValidationFailed(f"The {_label(name)} is required.", field=name)
        for name, value in kwargs.items():
            if name in named:
                check_value(value, hints.get(name, Any), field=name)
        return func(**kwargs)

    wrapper.validates_arguments = True  # type: ignore[attr-defined]
    return typing.cast(F, wrapper)
