"""What the printed document shows, computed from the bundle alone.

The renderer never reads the database: every line of the PDF comes from the
bundle that is also attached to it, so the print and the JSON cannot
disagree. Every time a person reads is printed in one format, the one the
staff page and the portal use (``core.formatting.case_time_text``): in the
full variant in the case's time zone with UTC beside, '2022-09-24 11:00 CEST
(2022-09-24 09:00 UTC)'; the vendor variant prints UTC alone (the firm's
time zone setting is not declared vendor-visible). The printed times are to
the minute; the exact ones (microseconds) are in the attached JSON.
"""

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from disclosure.accounts.models import Role
from disclosure.affected.exporting import affected_section
from disclosure.affected.models import Dispute
from disclosure.cases.models import AssetKind, AssetProvider, DataCategory, Escalation, Severity
from disclosure.cases.stages import CloseReason, Stage
from disclosure.comms.models import Channel, Direction
from disclosure.core.formatting import (
    case_time_parts,
    case_time_text,
    categories_text,
    choice_label,
    file_size,
    records_text,
)
from disclosure.core.timeutils import parse_iso_utc
from disclosure.evidence.models import EvidenceKind

from .models import CommunicationsMode, ExportVariant
from .summaries import kind_label, summary

TLP_CLASSES = {
    "TLP:CLEAR": "clear",
    "TLP:GREEN": "green",
    "TLP:AMBER": "amber",
    "TLP:AMBER+STRICT": "amber",
    "TLP:RED": "red",
}
METHOD_LABELS = {  # NIST SP 800-88 Rev. 1 sanitization categories
    "clear": "Clear (NIST SP 800-88)",
    "purge": "Purge (NIST SP 800-88)",
    "destroy": "Destroy (NIST SP 800-88)",
    "cloud_deletion": "Cloud deletion (provider API; no 800-88 category)",
}


# The coded fields the document prints, by their labels (the bundle keeps the
# codes: it is what the ledger and the JSON export carry).
CASE_CHOICES = {
    "stage": Stage.choices,
    "severity": Severity.choices,
    "close_reason": CloseReason.choices,
    "asset_provider": AssetProvider.choices,
    "asset_kind": AssetKind.choices,
}


def role_label(role: Any) -> str:
    """An actor's role by its label ('Vendor contact'); 'system' as 'System'."""
    if role == "system":
        return "System"
    return choice_label(role, Role.choices)


def parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_iso_utc(value)
    except ValueError:
        return None


@dataclass
class Clock:
    """Formats ISO times of the bundle in the one shared format (the case's
    zone with UTC beside; UTC alone when ``zone_name`` is None or UTC)."""

    zone_name: str | None
    zone: zoneinfo.ZoneInfo | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.zone_name and self.zone_name != "UTC":
            try:
                self.zone = zoneinfo.ZoneInfo(self.zone_name)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self.zone = None

    def case_time(self, value: Any) -> str:
        """The time as the staff page and the portal print it (one formatter):
        '2022-09-24 11:00 CEST (2022-09-24 09:00 UTC)'; '' when unset."""
        t = parse_time(value)
        return case_time_text(t, self.zone_name) if t else ""

    def case_time_cell(self, value: Any) -> str:
        """``case_time`` for a narrow table cell: no-break spaces inside the
        local time and inside the UTC time, so that a line breaks only
        between the two; '' when unset."""
        t = parse_time(value)
        if t is None:
            return ""
        local, utc = case_time_parts(t, self.zone_name)
        nbsp = "\u00a0"
        cell = local.replace(" ", nbsp)
        return f"{cell} ({utc.replace(' ', nbsp)})" if utc else cell


def duration(seconds: Any) -> str:
    if not isinstance(seconds, int):
        return ""
    sign, seconds = ("\u2212", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min"]
    return sign + " ".join(p for p in parts if p)


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else ""


def event_rows(events: list[dict[str, Any]], clock: Clock) -> list[dict[str, Any]]:
    """One printable row per event (withheld ones say so); its times in the
    shared format, to the minute (the exact ones are in the attached JSON)."""
    rows = []
    for e in events:
        if e.get("withheld"):
            rows.append({"seq": e["seq"], "withheld": True, "hash": e["hash"]})
            continue
        actor = e.get("actor") or {}
        rows.append(
            {
                "seq": e["seq"],
                "kind": kind_label(e.get("kind", "")),
                "internal": bool(e.get("internal")),
                "projected": bool(e.get("projected")),
                "actor": str(actor.get("name") or actor.get("username") or "Unknown"),
                "org": str(actor.get("organization") or ""),
                "occurred": clock.case_time_cell(e.get("occurred_at")),
                "recorded": clock.case_time_cell(e.get("recorded_at")),
                "summary": summary(e.get("kind", ""), e.get("payload") or {}),
                "hash": e["hash"],
            }
        )
    return rows


def communication_rows(comms: list[dict[str, Any]], clock: Clock) -> list[dict[str, Any]]:
    """One printable row per communication, numbered 1, 2, 3 ... in the
    order printed (oldest first); ``id`` is the record's own number."""
    rows = []
    for n, c in enumerate(comms, start=1):
        rows.append(
            {
                "n": n,
                "id": c.get("id"),
                "direction": choice_label(c.get("direction", ""), Direction.choices),
                "channel": choice_label(c.get("channel", ""), Channel.choices),
                "sender": c.get("sender", ""),
                "recipients": ", ".join(str(r) for r in c.get("recipients") or []),
                "subject": c.get("subject", ""),
                "body": c.get("body", ""),
                "excerpt": bool(c.get("body_excerpt")),
                "body_chars": c.get("body_chars"),
                "body_sha256": c.get("body_sha256", ""),
                "occurred": clock.case_time(c.get("occurred_at")),
                "attachments": c.get("attachments_sha256") or [],
            }
        )
    return rows


def summary_rows(case: dict[str, Any], clock: Clock) -> list[tuple[str, str]]:
    """(label, value) of the case's descriptive fields present in the bundle."""
    spec = [
        ("Title", "title"), ("Vendor", "vendor"), ("Stage", "stage"),
        ("Asset provider", "asset_provider"), ("Asset kind", "asset_kind"),
        ("Asset", "asset_identifier"), ("Region", "asset_region"),
        ("How found", "how_found"), ("Severity", "severity"), ("TLP", "tlp"),
        ("Disclosure policy", "policy"), ("Assignee", "assignee"),
        ("Time zone", "time_zone"), ("Data from", "data_from"), ("Data to", "data_to"),
        ("Publication", "publication_url"), ("Publication title", "publication_title"),
        ("Close reason", "close_reason"), ("Follows up", "follows_up"),
    ]  # fmt: skip
    rows = []
    for label, key in spec:
        if key in case and case[key] not in (None, ""):
            value = case[key]
            if key in CASE_CHOICES:
                value = choice_label(value, CASE_CHOICES[key])
            rows.append((label, str(value)))
    if case.get("data_categories"):
        rows.append(
            (
                "Data categories",
                categories_text(
                    case["data_categories"],
                    DataCategory.choices,
                    case.get("data_categories_other") or "",
                ),
            )
        )
    if isinstance(case.get("volume_bytes"), int):
        rows.append(("Volume", file_size(case["volume_bytes"])))
    for label, key in (
        ("Objects", "volume_objects"),
        ("Affected entities", "affected_entity_count"),
        ("Affected countries", "affected_country_count"),
    ):
        if isinstance(case.get(key), int):
            rows.append((label, _num(case[key])))
    if case.get("records_by_kind"):
        rows.append(("Records by kind", records_text(case["records_by_kind"])))
    if "legal_hold" in case:
        rows.append(("Legal hold", "yes" if case["legal_hold"] else "no"))
    if case.get("vendor_acknowledged_at"):
        t = case["vendor_acknowledged_at"]
        rows.append(("Vendor acknowledged", clock.case_time(t)))
    return rows


def stage_rows(case: dict[str, Any], clock: Clock) -> list[dict[str, Any]]:
    rows = []
    for s in case.get("stages", []):
        rows.append(
            {
                **s,
                "occurred_text": clock.case_time(s.get("occurred_at")),
                "recorded_text": clock.case_time(s.get("recorded_at")),
                "since": duration(s.get("since_previous_seconds")),
                "corrections": [
                    {
                        **c,
                        "from_text": clock.case_time(c.get("from")),
                        "to_text": clock.case_time(c.get("to")),
                    }
                    for c in s.get("corrections", [])
                ],
            }
        )
    return rows


def base_context(bundle: dict[str, Any]) -> dict[str, Any]:
    """What every part of the document needs: identity, running header and footer."""
    case = bundle["case"]
    full = bundle["variant"] == ExportVariant.FULL
    clock = Clock(case.get("time_zone") if full else None)
    head = bundle["chain"]["head"] or "0" * 64
    return {
        "bundle": bundle,
        "case": case,
        "full": full,
        "clock": clock,
        "reference": case["reference"],
        "tlp": case.get("tlp", ""),
        "tlp_class": TLP_CLASSES.get(case.get("tlp", ""), "clear"),
        "head": head,
        "chain_seq": bundle["chain"]["seq"],
        "generated_text": clock.case_time(bundle["generated_at"]),
        "subject": f"Disclosure case {case['reference']} chain head {head}",
        "doc_title": f"{case['reference']} — {case.get('title', '')} — case timeline",
        "variant_label": "Full (internal)" if full else "Vendor-visible variant",
        "comms_label": (
            "full text"
            if bundle.get("communications") == CommunicationsMode.FULL
            else "excerpts (full text hashed: SHA-256 of each body)"
        ),
    }


def front_context(bundle: dict[str, Any]) -> dict[str, Any]:
    """The cover's parties and figures."""
    case = bundle["case"]
    records = bundle["records"]
    from .bundle import actors

    return {
        "parties": [(name, org, role_label(role)) for name, org, role in actors(bundle["events"])],
        "counts": {
            "events": len(bundle["events"]),
            "communications": len(records["communications"]),
            "evidence": len(records["evidence"]),
            "disputes": len(records["disputes"]),
            "escalations": len(records["escalations"]),
        },
        "firm": case.get("firm", ""),
        "vendor": case.get("vendor", ""),
    }


def body_context(bundle: dict[str, Any], clock: Clock) -> dict[str, Any]:
    """Everything but the events and communications (summary, stages, tail)."""
    case = bundle["case"]
    records = bundle["records"]
    att = records.get("attestation")
    return {
        "summary_rows": summary_rows(case, clock),
        "stages": stage_rows(case, clock),
        "evidence": [
            {
                **f,
                "kind": choice_label(f.get("kind", ""), EvidenceKind.choices),
                "size_fmt": file_size(f.get("size")) if isinstance(f.get("size"), int) else "",
                "uploaded_text": clock.case_time(f.get("uploaded_at")),
                "captured_text": clock.case_time(f.get("captured_at")),
                "purged_text": clock.case_time(f.get("purged_at")),
            }
            for f in records["evidence"]
        ],
        "attestation_items": [
            {**i, "bytes": file_size(i["bytes"]) if isinstance(i.get("bytes"), int) else ""}
            for i in ((att or {}).get("items") or [])
            if isinstance(i, dict)
        ],
        "attestation_total": (
            file_size(att["total_bytes"]) if isinstance((att or {}).get("total_bytes"), int) else ""
        ),
        "attestation": att,
        "attestation_method": METHOD_LABELS.get((att or {}).get("method"), ""),
        "attestation_times": {
            "performed": clock.case_time((att or {}).get("performed_at")),
            "countersigned": clock.case_time((att or {}).get("countersigned_at")),
        },
        "affected": affected_section(bundle["events"]),
        "disputes": [
            {
                **d,
                "status": choice_label(d.get("status", ""), Dispute.Status.choices),
                "filed_text": clock.case_time(d.get("filed_at")),
            }
            for d in records["disputes"]
        ],
        "escalations": [
            {
                **x,
                "target": choice_label(x.get("target", ""), Escalation.Target.choices),
                "escalated_text": clock.case_time(x.get("escalated_at")),
            }
            for x in records["escalations"]
        ],
        "checkpoint": bundle.get("checkpoint"),
        "checkpoint_created": clock.case_time(
            ((bundle.get("checkpoint") or {}).get("checkpoint") or {}).get("created_at")
        ),
        "proof": bundle.get("inclusion_proof"),
    }
