"""One line of plain text per event kind, for the printed timeline.

Read from the bundle's events (dicts), so a projected vendor event is
summarised from what it carries. The text is escaped by the template.
"""

from typing import Any

from disclosure.cases.stages import Stage
from disclosure.cases.terms import describe_terms_change
from disclosure.cases.vendor_view import dispute_summary
from disclosure.comms.models import Channel, Direction
from disclosure.core.formatting import choice_label, file_size
from disclosure.evidence.models import DeletionMethod, EvidenceKind
from disclosure.ledger.models import EventKind


def kind_label(kind: str) -> str:
    try:
        return EventKind(kind).label
    except ValueError:
        return kind


def _stage_label(value: Any) -> str:
    return Stage(value).label if value in Stage.values else str(value)


def _join(*parts: Any) -> str:
    return " · ".join(str(p) for p in parts if p not in (None, "", [], {}))


def _size(value: Any) -> str:
    return file_size(value) if isinstance(value, int) and not isinstance(value, bool) else ""


def summary(kind: str, p: dict[str, Any]) -> str:
    """What the event records, in a line (or a few for notes)."""
    if kind == EventKind.CASE_OPENED:
        return f"Opened at stage {_stage_label(p.get('stage', 'found'))}."
    if kind == EventKind.STAGE_CHANGED:
        text = f"Milestone {_stage_label(p.get('milestone', ''))}"
        if p.get("late"):
            text += " (recorded late)"
        if p.get("override"):
            text += " (override)"
        extra = _join(
            p.get("channel"),
            ", ".join(p.get("recipients") or []),
            p.get("retest_result"),
            p.get("url"),
            p.get("reason"),
            p.get("note"),
        )
        return f"{text}. {extra}".strip()
    if kind == EventKind.OVERRIDE_GRANTED:
        return f"Override of {p.get('action', '')}: {p.get('justification', '')}"
    if kind == EventKind.COMMUNICATION_LOGGED:
        return _join(
            choice_label(p.get("direction"), Direction.choices),
            choice_label(p.get("channel"), Channel.choices),
            p.get("sender"),
            p.get("subject"),
        )
    if kind in (EventKind.EVIDENCE_ATTACHED, EventKind.EVIDENCE_SHARED):
        kind_text = choice_label(p.get("kind"), EvidenceKind.choices)
        return _join(p.get("name"), kind_text, f"SHA-256 {p.get('sha256', '')}")
    if kind == EventKind.DELETION_ATTESTED:
        return _join(
            f"Method {choice_label(p.get('method', ''), DeletionMethod.choices)}",
            f"{p.get('items', 0)} item(s)",
            _size(p.get("total_bytes", 0)),
        )
    if kind == EventKind.ATTESTATION_COUNTERSIGNED:
        return _join("Countersigned", p.get("statement"))
    if kind == EventKind.VENDOR_ACKNOWLEDGED:
        return _join("Acknowledged", p.get("note"))
    if kind == EventKind.INTERNAL_DETAILS:
        return "Fields: " + ", ".join(sorted(p.get("details") or {}))
    if kind == EventKind.DISPUTE_FILED:
        return f"Disputed: {p.get('subject', '')}"
    if kind in (EventKind.DISPUTE_ANSWERED, EventKind.DISPUTE_SETTLED):
        return dispute_summary(kind, p)
    if kind == EventKind.LEGAL_HOLD_CHANGED:
        state = "placed" if p.get("legal_hold") else "lifted"
        return _join(f"Legal hold {state}", p.get("reason"))
    if kind == EventKind.DETAILS_UPDATED:
        return "Changed: " + ", ".join(sorted(p.get("changes") or {}))
    if kind == EventKind.FOLLOW_UP_OPENED:
        return f"Follow-up case {p.get('follow_up', '')}"
    if kind == EventKind.POLICY_TERMS_CHANGED:
        return describe_terms_change(p)
    if kind == EventKind.ESCALATED:
        return _join(f"Escalated to {p.get('organization', '')}", p.get("reason"))
    if kind == EventKind.NOTE_ADDED:
        return str(p.get("note", ""))
    if kind == EventKind.CORRECTION:
        return _join(f"Corrects #{p.get('corrects_seq', '?')}", p.get("reason"))
    if kind == EventKind.EXPORT_REQUESTED:
        return _join(
            f"Export #{p.get('export_id', '')}", p.get("format"), p.get("variant"),
            p.get("communications"),
        )  # fmt: skip
    if kind == EventKind.EXPORT_DOWNLOADED:
        return _join(f"Export #{p.get('export_id', '')}", f"SHA-256 {p.get('sha256', '')}")
    if kind == EventKind.EVIDENCE_INTEGRITY_FAILED:
        found = p.get("found_sha256")
        return _join(
            f"Evidence #{p.get('evidence_id', '')}, SHA-256 {p.get('sha256', '')}",
            f"stored bytes hash to {found}" if found else "missing from storage",
            p.get("detected_by"),
        )
    if kind == EventKind.EVIDENCE_PURGED:
        files = p.get("files") if isinstance(p.get("files"), list) else []
        return _join(
            f"Content of {len(files)} evidence file(s) purged after "
            f"{p.get('retention_days', '?')} days of retention",
            ", ".join(
                f"#{f.get('evidence_id', '')} SHA-256 {f.get('sha256', '')}"
                for f in files
                if isinstance(f, dict)
            ),
        )
    if kind == EventKind.RETENTION_CHANGED:
        before, after = p.get("from"), p.get("to")
        return _join(
            f"Retention after closing: {'default' if before is None else f'{before} days'} "
            f"changed to {'default' if after is None else f'{after} days'}",
            p.get("reason"),
        )
    if kind == EventKind.EVIDENCE_INTEGRITY_RESTORED:
        return _join(f"Evidence #{p.get('evidence_id', '')} intact again", p.get("detected_by"))
    return ""
