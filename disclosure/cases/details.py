"""The descriptive fields of a case and their validation.

``clean_details`` is the one validation of case details, used by opening a
case, editing it (service and admin form) and, later, the UI and API forms.
"""

import zoneinfo
from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from disclosure.accounts.models import Organization, User
from disclosure.accounts.selectors import principal_for
from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import (
    check_instance,
    check_mapping,
    check_sequence,
    check_text,
    clean_text,
    column_range,
)

from .models import AssetKind, AssetProvider, Case, DataCategory, DisclosurePolicy, Severity, Tlp

# Fields that describe a case (as opposed to its stage and ledger-driven state).
DETAIL_FIELDS = (
    "title", "summary", "vendor", "asset_provider", "asset_kind", "asset_identifier",
    "asset_region", "how_found", "data_categories", "data_categories_other", "volume_bytes",
    "volume_objects",
    "records_by_kind", "data_from", "data_to", "affected_entity_count",
    "affected_country_count", "severity", "tlp", "time_zone", "policy", "assignee",
)  # fmt: skip


def _label(name: str) -> str:
    return name.replace("_", " ")


def _text(required: bool) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> str:
        return clean_text(value, model=Case, field=name, required=required)

    return check


def _choice(choices: type) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if not isinstance(value, str) or value not in choices.values:
            raise ValidationFailed(
                f"Unknown {_label(name)} {value!r}: use one of {', '.join(choices.values)}.",
                field=name,
            )
        return value

    return check


MAX_RECORD_COUNT = 2**63 - 1  # a count in records_by_kind (JSON, read back as a bigint)


def _is_count(value: Any, maximum: int = MAX_RECORD_COUNT) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= maximum


def _count(name: str, value: Any) -> int | None:
    """A count that fits its column (2**31 - 1 for an integer column,
    2**63 - 1 for a big one)."""
    maximum = column_range(Case, name)[1]
    if value is not None and not _is_count(value, maximum):
        raise ValidationFailed(
            f"The {_label(name)} must be a whole number from 0 to {maximum}.", field=name
        )
    return value


def _categories(name: str, value: Any) -> list[str]:
    """A list of known data categories (duplicates dropped, sorted); the
    error names every unknown value, once each, and the known ones."""
    if value is None:
        return []
    items = check_sequence(value, field=name)
    bad = list(dict.fromkeys(
        repr(c) for c in items if not isinstance(c, str) or c not in DataCategory.values
    ))  # fmt: skip
    if bad:
        noun = "categories" if len(bad) > 1 else "category"
        raise ValidationFailed(
            f"Unknown data {noun} {', '.join(bad)}: use any of {', '.join(DataCategory.values)}.",
            field=name,
        )
    return sorted(set(items))


def clean_categories(value: Any) -> list[str]:
    """``value`` as a case's data categories (``clean_details``' rule for
    them alone); ValidationFailed names every unknown value."""
    return _categories("data_categories", value)


def _records(name: str, value: Any) -> dict[str, int]:
    """A mapping of kinds of record (text) to counts from 0 to 2**63 - 1."""
    if value is None:
        return {}
    value = dict(check_mapping(value, field=name))
    for kind, count in value.items():
        if not isinstance(kind, str) or not kind.strip() or not _is_count(count):
            raise ValidationFailed(
                "Records by kind maps a kind of record (text) to a whole number "
                f"from 0 to {MAX_RECORD_COUNT}.",
                field=name,
            )
        check_text(kind, field=name, label="kind of record")
    return value


def _date(name: str, value: Any) -> date | None:
    if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
        raise ValidationFailed(f"The {_label(name)} must be a date.", field=name)
    return value


def _time_zone(name: str, value: Any) -> str:
    if not isinstance(value, str) or value not in zoneinfo.available_timezones():
        raise ValidationFailed(f"Unknown time zone {value!r}.", field=name)
    return value


def _vendor(name: str, value: Any) -> Organization:
    if not isinstance(value, Organization) or value.kind != Organization.Kind.VENDOR:
        raise ValidationFailed("The vendor must be a vendor organization.", field=name)
    return check_instance(value, Organization, field=name)


def _policy(name: str, value: Any) -> DisclosurePolicy:
    if not isinstance(value, DisclosurePolicy):
        raise ValidationFailed("Choose a disclosure policy.", field=name)
    return check_instance(value, DisclosurePolicy, field=name)


def _assignee(name: str, value: Any) -> Any:
    if value is not None:
        check_instance(value, User, field=name)
    if value is not None and not principal_for(value).is_staff_member:
        raise ValidationFailed("Cases are assigned to staff members only.", field=name)
    return value


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "title": _text(required=True),
    "asset_identifier": _text(required=True),
    "how_found": _text(required=True),
    "summary": _text(required=False),
    "asset_region": _text(required=False),
    "asset_provider": _choice(AssetProvider),
    "asset_kind": _choice(AssetKind),
    "severity": _choice(Severity),
    "tlp": _choice(Tlp),
    "volume_bytes": _count,
    "volume_objects": _count,
    "affected_entity_count": _count,
    "affected_country_count": _count,
    "data_categories": _categories,
    "data_categories_other": _text(required=False),
    "records_by_kind": _records,
    "data_from": _date,
    "data_to": _date,
    "time_zone": _time_zone,
    "vendor": _vendor,
    "policy": _policy,
    "assignee": _assignee,
}
assert set(_CHECKS) == set(DETAIL_FIELDS)


def clean_details(values: Mapping[str, Any], *, current: Case | None = None) -> dict[str, Any]:
    """Validate case details and return them normalised.

    Raises ValidationFailed naming the first bad field. Only the keys given
    are checked, but the date range is checked against ``current`` when only
    one end changes.
    """
    check_mapping(values, field="changes")
    unknown = sorted(repr(k) if not isinstance(k, str) else k for k in values if k not in _CHECKS)
    if unknown:
        raise ValidationFailed(f"Unknown case field(s): {', '.join(unknown)}.", field=unknown[0])
    out = {name: _CHECKS[name](name, value) for name, value in values.items()}
    start = out.get("data_from", current.data_from if current else None)
    end = out.get("data_to", current.data_to if current else None)
    if start and end and start > end:
        raise ValidationFailed("The data date range ends before it starts.", field="data_to")
    if "data_categories" in out or "data_categories_other" in out:
        categories = out.get("data_categories", current.data_categories if current else [])
        other = out.get("data_categories_other", current.data_categories_other if current else "")
        if DataCategory.OTHER in categories and not other:
            raise ValidationFailed('Say what the "other" data is.', field="data_categories_other")
        if other and DataCategory.OTHER not in categories:
            if "data_categories_other" in out:
                raise ValidationFailed(
                    'A description of other data goes with the category "other".',
                    field="data_categories_other",
                )
            out["data_categories_other"] = ""  # "other" was dropped: so is what it was
    return out


def details_payload(case: Case) -> dict[str, Any]:
    """The case's details as ledger JSON (related objects by id and name)."""
    out: dict[str, Any] = {}
    for name in DETAIL_FIELDS:
        value = getattr(case, name)
        if name in ("vendor", "policy"):
            value = {"id": value.pk, "name": value.name}
        elif name == "assignee":
            value = {"id": value.pk, "username": value.get_username()} if value else None
        out[name] = value
    return out
