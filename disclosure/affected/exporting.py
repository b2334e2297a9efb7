"""The affected-entity counts and count claims as the legal export prints
them: read from the bundle's own events (the latest ``affected_imported``
or ``organizations_grouped`` event with counts, and each party's latest
``count_claim_filed`` per level), so the printed figures are exactly what
the hash chain vouches for, and the same bundle renders the same table."""

from typing import Any

from .counting import METHODS
from .models import Level

_COUNTED = ("affected_imported", "organizations_grouped")


def affected_section(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Rows (level, label, counted, firm's claim, vendor's claim, method) and
    the seq, suffix list and method version of the count; None when the
    events the reader sees carry no count."""
    latest: dict[str, Any] | None = None
    claims: dict[tuple[str, str], dict[str, Any]] = {}
    for e in events:
        payload = e.get("payload")
        if not isinstance(payload, dict):
            continue
        if e.get("kind") in _COUNTED and isinstance(payload.get("counts"), dict):
            latest = e
        elif e.get("kind") == "count_claim_filed":
            claims[(str(payload.get("level")), str(payload.get("party")))] = {
                **payload, "seq": e.get("seq")
            }  # fmt: skip
    if latest is None and not claims:
        return None
    counts = (latest or {}).get("payload", {}).get("counts", {})
    rows = []
    for level in Level:
        firm, vendor = claims.get((level.value, "firm")), claims.get((level.value, "vendor"))
        if level.value not in counts and firm is None and vendor is None:
            continue
        rows.append({
            "level": level.value, "label": level.label, "counted": counts.get(level.value),
            "firm": firm, "vendor": vendor, "method": METHODS[level.value],
        })  # fmt: skip
    payload = (latest or {}).get("payload", {})
    return {
        "rows": rows,
        "seq": (latest or {}).get("seq"),
        "suffix_list": payload.get("suffix_list", ""),
        "method_version": payload.get("method_version"),
    }
