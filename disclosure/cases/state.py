"""The ledger state of a case: what its events replay to.

The Case row is a cache of its ledger: stage, the time of every milestone,
the acknowledgement, legal hold, publication, close reason, follow-up link,
every descriptive detail and the disclosure terms it runs under (``terms``:
None on a case whose ledger never recorded them). ``row_state`` reads that state off a row,
``replay`` rebuilds it from the events; verify_ledger compares the two, and
every event carries ``state_digest`` of the state it leaves, so a service
refuses to build on a row that was changed behind the ledger's back.
"""

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from disclosure.core.canonical import canonical_json
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import iso_utc

from .details import DETAIL_FIELDS
from .stages import STAGE_TIME_FIELD, Stage
from .terms import TERMS_COLUMNS, row_terms, terms_differences, terms_from_payload

# Event kinds as stored (the ledger's EventKind values; cases does not import
# the ledger app's models here to keep this module a leaf).
CASE_OPENED = "case_opened"
INTERNAL_DETAILS = "internal_details"
DETAILS_UPDATED = "details_updated"
STAGE_CHANGED = "stage_changed"
VENDOR_ACKNOWLEDGED = "vendor_acknowledged"
LEGAL_HOLD_CHANGED = "legal_hold_changed"
CORRECTION = "correction"
POLICY_TERMS_CHANGED = "policy_terms_changed"

TIME_FIELDS = (*STAGE_TIME_FIELD.values(), "vendor_acknowledged_at")
_RELATED = {"vendor", "policy", "assignee"}  # stored by id
# Row columns the state is read from (``Case.objects.values(*STATE_COLUMNS)``).
STATE_COLUMNS = (
    "stage",
    *TIME_FIELDS,
    "legal_hold",
    "close_reason",
    "publication_url",
    "publication_title",
    "follows_up_id",
    *(f"{n}_id" if n in _RELATED else n for n in DETAIL_FIELDS),
    *TERMS_COLUMNS,
)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def row_state(row: Mapping[str, Any]) -> dict[str, Any]:
    """The ledger state of a case row given as ``{column: value}`` (the
    STATE_COLUMNS, as ``.values()`` returns them)."""
    return {
        "stage": row["stage"],
        "times": {f: _json_value(row[f]) for f in TIME_FIELDS},
        "legal_hold": bool(row["legal_hold"]),
        "close_reason": row["close_reason"],
        "publication_url": row["publication_url"],
        "publication_title": row["publication_title"],
        "follows_up": row["follows_up_id"],
        "details": _without_added_defaults(
            {n: _json_value(row[f"{n}_id" if n in _RELATED else n]) for n in DETAIL_FIELDS}
        ),
        "terms": row_terms(row),
    }


def case_state(case) -> dict[str, Any]:
    """The ledger state of a Case instance."""
    return row_state({c: getattr(case, c) for c in STATE_COLUMNS})


def state_digest(state: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a ledger state."""
    return sha256_hex(canonical_json(state))


def detail_from_payload(name: str, value: Any) -> Any:
    """A detail as events record it (``details_payload``) -> as the state holds it."""
    if name in _RELATED:
        return value["id"] if value else None
    return value


def empty_state() -> dict[str, Any]:
    return {
        "stage": None,
        "times": dict.fromkeys(TIME_FIELDS),
        "legal_hold": False,
        "close_reason": "",
        "publication_url": "",
        "publication_title": "",
        "follows_up": None,
        "details": {},
        "terms": None,
    }


# Details added after cases were recorded, with their default: left out of
# the state while at it, so that a case recorded before (whose events never
# name the detail) keeps the state, and the digests, its events recorded.
ADDED_DETAILS: dict[str, Any] = {"data_categories_other": ""}


def _without_added_defaults(details: dict[str, Any]) -> dict[str, Any]:
    for name, default in ADDED_DETAILS.items():
        if name in details and details[name] == default:
            del details[name]
    return details


def apply_event(state: dict[str, Any], kind: str, occurred_at: str, payload: Any) -> None:
    """Apply one event (``occurred_at`` as ISO text) to ``state`` in place.

    Raises KeyError, TypeError or ValueError for a malformed payload; the
    verifier reports those as broken links.
    """
    if kind == CASE_OPENED:
        state["stage"] = Stage.FOUND.value
        state["times"]["found_at"] = occurred_at
        state["follows_up"] = (payload.get("follows_up") or {}).get("id")
        for name, value in payload["details"].items():
            state["details"][name] = detail_from_payload(name, value)
        _without_added_defaults(state["details"])
        if "terms" in payload:  # absent from cases opened before terms were kept
            state["terms"] = terms_from_payload(payload["terms"])
    elif kind == INTERNAL_DETAILS:
        for name, value in payload["details"].items():
            state["details"][name] = detail_from_payload(name, value)
        _without_added_defaults(state["details"])
    elif kind == DETAILS_UPDATED:
        for name, change in payload["changes"].items():
            state["details"][name] = detail_from_payload(name, change["to"])
        _without_added_defaults(state["details"])
        if "terms" in payload:  # the policy changed: its terms came with it
            state["terms"] = terms_from_payload(payload["terms"]["to"])
    elif kind == POLICY_TERMS_CHANGED:
        state["terms"] = terms_from_payload(payload["to"])
    elif kind == STAGE_CHANGED:
        milestone = Stage(payload["milestone"])
        state["times"][STAGE_TIME_FIELD[milestone]] = occurred_at
        state["stage"] = Stage(payload["to"]).value
        if milestone == Stage.PUBLISHED:
            state["publication_url"] = payload["url"]
            state["publication_title"] = payload["title"]
        elif milestone == Stage.CLOSED:
            state["close_reason"] = payload["reason"]
    elif kind == VENDOR_ACKNOWLEDGED:
        state["times"]["vendor_acknowledged_at"] = occurred_at
    elif kind == LEGAL_HOLD_CHANGED:
        state["legal_hold"] = bool(payload["legal_hold"])
    elif kind == CORRECTION and payload.get("occurred_at"):
        change = payload["occurred_at"]
        if change["field"] not in TIME_FIELDS:
            raise ValueError(f"a correction names an unknown time {change['field']!r}")
        state["times"][change["field"]] = change["to"]


def replay(events: Iterable[tuple[str, datetime, Any]]) -> dict[str, Any]:
    """The state that ``(kind, occurred_at, payload)`` events, in order, build."""
    state = empty_state()
    for kind, occurred_at, payload in events:
        apply_event(state, kind, iso_utc(occurred_at), payload)
    return state


def state_differences(row: Mapping[str, Any], replayed: Mapping[str, Any]) -> list[str]:
    """The names of the fields where a row's state and the replayed one differ."""
    out = []
    for key in ("stage", "legal_hold", "close_reason", "publication_url", "publication_title"):
        if row[key] != replayed[key]:
            out.append(key)
    if row["follows_up"] != replayed["follows_up"]:
        out.append("follows_up")
    for group in ("times", "details"):
        for name in sorted(set(row[group]) | set(replayed[group])):
            if row[group].get(name) != replayed[group].get(name):
                out.append(name)
    out.extend(f"terms.{name}" for name in terms_differences(row["terms"], replayed["terms"]))
    return out
