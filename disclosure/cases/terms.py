"""The disclosure terms a case runs under: the day counts of its policy, as
its ledger recorded them.

A deadline is a fact a vendor is held to, so a case does not read its
policy's row live: the terms are copied onto the case (``Case.terms_*``)
and into the event that sets them, whenever its policy is set (opening,
``update_details``) or the policy's terms change (``edit_policy``, one
``policy_terms_changed`` event on each case it changes). Deadlines are
counted from the copy; verify_ledger replays the copy from the events and
compares it with the row, and with the policy row for the cases that follow
their policy (every case not closed). A leaf module: no models imported.
"""

from collections.abc import Mapping
from typing import Any

TERMS_FIELDS = (
    "days_to_acknowledge",
    "days_to_secure",
    "days_to_publish",
    "grace_days",
    "business_days",
)
# The case columns that hold them.
TERMS_COLUMNS = tuple(f"terms_{name}" for name in TERMS_FIELDS)
_DAYS = TERMS_FIELDS[:-1]
MAX_DAYS = 2**31 - 1  # a PositiveIntegerField


def policy_terms(policy: Any) -> dict[str, Any]:
    """The terms a policy (or anything with the TERMS_FIELDS) states now."""
    return {name: getattr(policy, name) for name in TERMS_FIELDS}


def row_terms(row: Mapping[str, Any]) -> dict[str, Any] | None:
    """The terms recorded on a case row given as ``{column: value}``, or None
    when none are (every column NULL)."""
    values = {name: row[column] for name, column in zip(TERMS_FIELDS, TERMS_COLUMNS, strict=True)}
    if all(v is None for v in values.values()):
        return None
    return values


def recorded_terms(case: Any) -> dict[str, Any] | None:
    """The terms recorded on a Case instance, or None."""
    return row_terms({column: getattr(case, column) for column in TERMS_COLUMNS})


def terms_columns(terms: Mapping[str, Any]) -> dict[str, Any]:
    """``terms`` as case columns (``{"terms_days_to_secure": 90, ...}``)."""
    return {column: terms[name] for name, column in zip(TERMS_FIELDS, TERMS_COLUMNS, strict=True)}


def set_recorded_terms(case: Any, terms: Mapping[str, Any]) -> list[str]:
    """Write ``terms`` onto a Case instance (not saved); the columns to save."""
    for name, column in zip(TERMS_FIELDS, TERMS_COLUMNS, strict=True):
        setattr(case, column, terms[name])
    return list(TERMS_COLUMNS)


def terms_from_payload(value: Any) -> dict[str, Any]:
    """Terms as an event records them, checked: exactly the TERMS_FIELDS,
    whole numbers of days from 0 and a boolean. Raises ValueError (the
    verifier reports a malformed event)."""
    if not isinstance(value, dict) or set(value) != set(TERMS_FIELDS):
        raise ValueError(f"the terms are malformed: {value!r}")
    for name in _DAYS:
        days = value[name]
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= MAX_DAYS:
            raise ValueError(f"the terms' {name} is not a number of days: {days!r}")
    if not isinstance(value["business_days"], bool):
        raise ValueError(f"the terms' business_days is not a boolean: {value['business_days']!r}")
    return {name: value[name] for name in TERMS_FIELDS}


def terms_differences(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> list[str]:
    """The TERMS_FIELDS on which two sets of terms (either None) differ."""
    a, b = a or {}, b or {}
    return [name for name in TERMS_FIELDS if a.get(name) != b.get(name)]


def describe_terms(terms: Mapping[str, Any]) -> str:
    """One line for people: "acknowledge 7, secure 90, publish 90, grace 14 days"."""
    unit = "business days" if terms["business_days"] else "days"
    return (
        f"acknowledge {terms['days_to_acknowledge']}, secure {terms['days_to_secure']}, "
        f"publish {terms['days_to_publish']}, grace {terms['grace_days']} {unit}"
    )


_LABELS = {
    "days_to_acknowledge": "acknowledge",
    "days_to_secure": "secure",
    "days_to_publish": "publish",
    "grace_days": "grace",
    "business_days": "business days",
}


def describe_terms_change(payload: Mapping[str, Any]) -> str:
    """A ``policy_terms_changed`` event in a line: "Terms of 'Tight': secure
    2 → 5 days" (or the terms first recorded); empty for a payload it cannot
    read (a projection, a malformed event)."""
    try:
        before = payload.get("from")
        after = terms_from_payload(payload.get("to"))
        policy = payload.get("policy") or {}
        name = f" of {policy['name']!r}" if isinstance(policy, dict) and "name" in policy else ""
        if before is None:
            return f"Terms{name} recorded: {describe_terms(after)}"
        before = terms_from_payload(before)
    except (ValueError, TypeError, AttributeError):
        return ""
    unit = " business days" if after["business_days"] else " days"
    parts = []
    for field in terms_differences(before, after):
        if field == "business_days":
            parts.append(f"business days {'yes' if after[field] else 'no'}")
        else:
            parts.append(f"{_LABELS[field]} {before[field]} → {after[field]}{unit}")
    return f"Terms{name}: {', '.join(parts)}" if parts else f"Terms{name} unchanged"
