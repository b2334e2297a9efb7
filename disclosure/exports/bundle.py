"""The export bundle: everything a legal export holds, as plain JSON values.

The PDF prints it and attaches its canonical JSON (``disclosure-export.json``);
the JSON export is that same canonical JSON. The format is specified in
docs/export-format.md ("Disclosure export format 1"; a test compares its
field tables with real bundles): ``format``, ``v``, ``variant``,
``generated_at``, ``case``, ``chain``, ``events``, ``records``,
``checkpoint`` (the signed checkpoint document without its entries, plus
``timestamp_token`` when the checkpoint has an RFC 3161 timestamp: base64 of
the DER token over the checkpoint's hash, see ``ledger.timestamps``) and
``inclusion_proof``.

- Full variant: every event is its hashed body (``ledger.chain.body_of``)
  plus ``hash``, so anyone can recompute the chain.
- Vendor variant: the vendor projection (``cases.vendor_view``), the one the
  portal and the API show the case's vendor. ``events`` still holds one
  entry per event, seq 1..n in order, so the chain links end to end; each
  entry is one of three shapes:

  - withheld, an event the vendor is not shown (``vendor_view.shown``: an
    internal event or an undeclared kind; every event up to and including
    the case's last change of vendor, since what was recorded while the
    case belonged to another vendor is not the new vendor's; a
    ``follow_up_opened`` event whose follow-up the vendor does not see):
    exactly the four keys ``{"seq": int, "prev_hash": str, "hash": str,
    "withheld": true}``, the two hashes as 64 lowercase hex digits. Nothing
    else of the event (no kind, time, actor or payload) is given;
  - projected, a shown event whose payload or actor the projection changed
    (payload keys the vendor may not see left out, a ``case_opened``
    event's ``follows_up`` set to null when the vendor does not see that
    case, a firm member's actor given as the firm: ``{"id": null,
    "username": "", "name": <firm>, "organization": <firm>, "role":
    null}``): exactly ``{"seq", "kind", "occurred_at", "recorded_at",
    "actor", "payload", "prev_hash", "hash", "projected": true}`` (no
    ``v``, ``case``, ``internal`` or ``state``); its hash is linked by the
    next entry's ``prev_hash``, not recomputable;
  - complete, a shown event the projection left unchanged (every payload
    key declared, the actor the vendor's own contact or the system): the
    full hashed body plus ``hash``, as in the full variant, so its hash can
    be recomputed.

  A verifier checks that every entry's ``prev_hash`` is the previous
  entry's ``hash`` (64 zeros for seq 1), recomputes the complete entries'
  hashes, and that the last hash is ``chain.head``.

Nothing here renders or decides access: the service checked
``Action.EXPORT`` before the bundle is built.
"""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings

from disclosure.affected.models import Dispute
from disclosure.cases import vendor_view
from disclosure.cases.models import Case, Escalation
from disclosure.cases.stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage
from disclosure.cases.visibility import VENDOR_CASE_FIELDS
from disclosure.comms.models import Communication
from disclosure.core.canonical import canonical_json, to_json_value
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import iso_utc, parse_iso_utc
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger import fingerprints
from disclosure.ledger.chain import body_of
from disclosure.ledger.checkpoints import checkpoint_document, inclusion_proof
from disclosure.ledger.models import CaseEvent, Checkpoint
from disclosure.ledger.timestamps import token_b64 as timestamp_token_b64

from .models import CommunicationsMode, ExportVariant

FORMAT = "disclosure-export"
FORMAT_VERSION = 1
ATTACHMENT_NAME = "disclosure-export.json"
EXCERPT_CHARS = 400

_WITHHELD_KEYS = ("seq", "prev_hash", "hash")
_PROJECTED_KEYS = ("seq", "kind", "occurred_at", "recorded_at", "actor", "prev_hash", "hash")


def _name(user) -> str | None:
    if user is None:
        return None
    return user.get_full_name() or user.get_username()


# --- the case -----------------------------------------------------------------


def _stage_rows(case: Case, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The stage table: for each stage, when it occurred (the case's time,
    corrections applied) and was recorded (its ledger event), the time since
    the previous stage in seconds, whether it was recorded late, the
    override it needed (and its justification, when the events carry it)
    and the corrections of its event. Read from the bundle's events, so the
    vendor variant shows only what its events show."""
    milestones: dict[str, dict[str, Any]] = {}
    overrides: list[dict[str, Any]] = []
    corrections: dict[int, list[dict[str, Any]]] = {}
    for e in events:
        kind, payload = e.get("kind"), e.get("payload") or {}
        if kind == "case_opened":
            milestones[Stage.FOUND.value] = e
        elif kind == "stage_changed" and "milestone" in payload:
            milestones[payload["milestone"]] = e
        elif kind == "override_granted":
            overrides.append(e)
        elif kind == "correction" and isinstance(payload.get("corrects_seq"), int):
            change = payload.get("occurred_at") or {}
            corrections.setdefault(payload["corrects_seq"], []).append(
                {
                    "seq": e["seq"],
                    "reason": payload.get("reason", ""),
                    "statement": payload.get("statement", ""),
                    "from": change.get("from"),
                    "to": change.get("to"),
                }
            )
    rows, previous = [], None
    for stage in STAGE_ORDER:
        occurred = getattr(case, STAGE_TIME_FIELD[stage])
        event = milestones.get(stage.value)
        payload = (event or {}).get("payload") or {}
        override = None
        if event is not None and payload.get("override"):
            granted = [o for o in overrides if o["seq"] < event["seq"]]
            o = granted[-1] if granted else None
            op = (o or {}).get("payload") or {}
            override = {
                "seq": o["seq"] if o else None,
                "justification": op.get("justification") if o else None,
                "by": (o.get("actor") or {}).get("name") if o else None,
            }
        rows.append(
            {
                "stage": stage.value,
                "label": stage.label,
                "occurred_at": iso_utc(occurred) if occurred else None,
                "recorded_at": event.get("recorded_at") if event else None,
                "seq": event["seq"] if event else None,
                "late": bool(payload.get("late")),
                "override": override,
                "corrections": corrections.get(event["seq"], []) if event else [],
                "since_previous_seconds": (
                    int((occurred - previous).total_seconds()) if occurred and previous else None
                ),
            }
        )
        if occurred is not None:
            previous = occurred
    return rows


def _case_section(case: Case, variant: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    fields = {
        "reference": case.reference,
        "title": case.title,
        "summary": case.summary,
        "vendor": case.vendor.name,
        "asset_provider": case.get_asset_provider_display(),
        "asset_kind": case.get_asset_kind_display(),
        "asset_identifier": case.asset_identifier,
        "asset_region": case.asset_region,
        "how_found": case.how_found,
        "data_categories": list(case.data_categories or []),
        "data_categories_other": case.data_categories_other,
        "volume_bytes": case.volume_bytes,
        "volume_objects": case.volume_objects,
        "records_by_kind": case.records_by_kind or {},
        "data_from": case.data_from,
        "data_to": case.data_to,
        "affected_entity_count": case.affected_entity_count,
        "affected_country_count": case.affected_country_count,
        "severity": case.severity,
        "tlp": case.get_tlp_display(),
        "time_zone": case.time_zone,
        "policy": case.policy.name,
        "assignee": _name(case.assignee),
        "legal_hold": case.legal_hold,
        "stage": case.stage,
        **{f: getattr(case, f) for f in (*STAGE_TIME_FIELD.values(), "vendor_acknowledged_at")},
        "publication_url": case.publication_url,
        "publication_title": case.publication_title,
        "close_reason": case.close_reason,
        "follows_up": case.follows_up.reference if case.follows_up_id else None,
    }
    if variant == ExportVariant.VENDOR:
        fields = {k: v for k, v in fields.items() if k in VENDOR_CASE_FIELDS}
        fields["follows_up"] = vendor_view.shared_follows_up(case)
    # The issuer and the counterpart (the vendor's domain only as the name).
    fields["firm"] = settings.DISCLOSURE_FIRM_NAME
    fields["stages"] = _stage_rows(case, events)
    return fields


# --- the events ---------------------------------------------------------------


def _vendor_event(
    full: dict[str, Any], *, vendor_since: int = 0, linked_visible: bool = True
) -> dict[str, Any]:
    """The entry of the vendor variant for the event whose hashed body plus
    hash is ``full`` (see the module docstring), as ``vendor_view`` projects
    it given the event's ``vendor_view.SCOPE_COLUMNS``."""
    seen = vendor_view.project_event(
        {
            **full,
            "actor_snapshot": full["actor"],
            "vendor_since": vendor_since,
            "linked_visible": linked_visible,
        }
    )
    if seen is None:
        return {**{k: full[k] for k in _WITHHELD_KEYS}, "withheld": True}
    if seen["payload"] == full["payload"] and seen["actor"] == full["actor"]:
        return full  # nothing hidden: complete and verifiable
    return {
        **{k: full[k] for k in _PROJECTED_KEYS},
        "actor": seen["actor"],
        "payload": seen["payload"],
        "projected": True,
    }


def _events(case: Case, upto: int, variant: str) -> list[dict[str, Any]]:
    rows = CaseEvent.objects.filter(case=case, seq__lte=upto)
    vendor = variant == ExportVariant.VENDOR
    if vendor:
        rows = vendor_view.with_vendor_scope(rows, case=case)
    out = []
    for event in rows.order_by("seq").iterator(2000):
        full = {**body_of(event, case.reference), "hash": event.hash}
        if vendor:
            full = _vendor_event(
                full, vendor_since=event.vendor_since, linked_visible=event.linked_visible
            )
        out.append(full)
    return out


# --- the records --------------------------------------------------------------


def _with_fingerprint(rtype: fingerprints.RecordType, obj, linked=None) -> dict[str, Any]:
    values = rtype.values_of(obj, linked)
    return {**values, "fingerprint": rtype.fingerprint(values)}


def _excerpt(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    return text[:EXCERPT_CHARS].rstrip() + " …"


def _communications(case: Case, variant: str, mode: str) -> list[dict[str, Any]]:
    rows = (
        Communication.objects.filter(case=case)
        .select_related("logged_by")
        .prefetch_related("attachments")
        .order_by("occurred_at", "id")
    )
    if variant == ExportVariant.VENDOR:
        rows = rows.filter(vendor_view.vendor_communications(case))
    out = []
    for c in rows:
        files = sorted(c.attachments.all(), key=lambda f: f.pk)
        record = _with_fingerprint(fingerprints.COMMUNICATION, c, [f.pk for f in files])
        record["attachments_sha256"] = [f.sha256 for f in files]
        record["logged_by_name"] = _name(c.logged_by)
        if variant == ExportVariant.VENDOR:
            for key in (
                "logged_by_id", "logged_by_name", "logged_at", "fingerprint", "raw_message_id",
                "sender_unknown",
            ):  # fmt: skip
                record.pop(key, None)
        if mode == CommunicationsMode.EXCERPT:
            record["body_chars"] = len(c.body)
            record["body"] = _excerpt(c.body)
            record["body_excerpt"] = True
        out.append(record)
    return out


_VENDOR_EVIDENCE = ("id", "sha256", "size", "content_type", "original_name", "kind", "captured_at")


def _evidence(case: Case, variant: str) -> list[dict[str, Any]]:
    rows = EvidenceFile.objects.filter(case=case).select_related("uploaded_by")
    if variant == ExportVariant.VENDOR:
        rows = rows.filter(vendor_view.vendor_evidence(case))
    out = []
    for f in rows.order_by("uploaded_at", "id"):
        # Not fingerprinted: the evidence_purged event vouches for the purge.
        purged = {"purged_at": f.purged_at}
        if variant == ExportVariant.VENDOR:
            out.append({**{k: getattr(f, k) for k in _VENDOR_EVIDENCE}, **purged})
            continue
        record = _with_fingerprint(fingerprints.EVIDENCE, f)
        record["uploaded_by_name"] = _name(f.uploaded_by)
        record.update(purged)
        out.append(record)
    return out


def _attestation(case: Case, variant: str) -> dict[str, Any] | None:
    a = (
        DeletionAttestation.objects.filter(case=case)
        .select_related("performed_by", "verified_by", "countersigned_by")
        .prefetch_related("evidence")
        .first()
    )
    if a is None:
        return None
    files = sorted(a.evidence.all(), key=lambda f: f.pk)
    if variant == ExportVariant.VENDOR:
        # The keys of deletion_attested and attestation_countersigned.
        return {
            "id": a.pk,
            "content_sha256": a.content_sha256,
            "items": a.items,
            "total_bytes": a.total_bytes,
            "method": a.method,
            "retained_metadata": a.retained_metadata,
            "countersigned_at": a.countersigned_at,
            "countersignature_statement": a.countersignature_statement,
        }
    record = _with_fingerprint(fingerprints.ATTESTATION, a, [f.pk for f in files])
    record.update(
        performed_by_name=_name(a.performed_by),
        verified_by_name=_name(a.verified_by),
        countersigned_by_name=_name(a.countersigned_by),
        evidence_sha256=[f.sha256 for f in files],
    )
    return record


_VENDOR_DISPUTE = (
    "id", "subject", "firm_position", "firm_provenance", "vendor_position",
    "vendor_provenance", "filed_at",
)  # fmt: skip


def _disputes(case: Case, variant: str) -> list[dict[str, Any]]:
    rows = Dispute.objects.filter(case=case).select_related("filed_by").order_by("filed_at", "id")
    if variant == ExportVariant.VENDOR:
        return [{k: getattr(d, k) for k in _VENDOR_DISPUTE} for d in rows]
    out = []
    for d in rows:
        record = _with_fingerprint(fingerprints.DISPUTE, d)
        record["filed_by_name"] = _name(d.filed_by)
        out.append(record)
    return out


def _escalations(case: Case, variant: str) -> list[dict[str, Any]]:
    if variant == ExportVariant.VENDOR:
        return []  # internal to the firm (cases.visibility: escalated is not listed)
    rows = Escalation.objects.filter(case=case).select_related("escalated_by")
    out = []
    for x in rows.order_by("escalated_at", "id"):
        record = _with_fingerprint(fingerprints.ESCALATION, x)
        record["escalated_by_name"] = _name(x.escalated_by)
        out.append(record)
    return out


# --- the whole bundle -----------------------------------------------------------


def build_bundle(
    *,
    case: Case,
    variant: str,
    communications: str,
    generated_at: datetime,
    checkpoint: Checkpoint | None,
    upto: int | None = None,
) -> dict[str, Any]:
    """The bundle of ``case`` as JSON values (strings, ints, lists, dicts),
    events 1..``upto`` (default: the case's current head). ``checkpoint``
    must list the case (the service makes sure it lists it at ``upto``);
    with None the bundle carries no checkpoint or proof."""
    upto = case.ledger_seq if upto is None else upto
    events = _events(case, upto, variant)
    head = events[-1]["hash"] if events else None
    cp_doc, proof = None, None
    if checkpoint is not None:
        cp_doc = {k: v for k, v in checkpoint_document(checkpoint).items() if k != "entries"}
        # The checkpoint's RFC 3161 token, when it has one yet (base64 of the
        # DER TimeStampToken over the 32 bytes of cp_doc["hash"]; see
        # ledger.timestamps): outside the checkpoint's hash, checked on its own.
        if (token := timestamp_token_b64(checkpoint)) is not None:
            cp_doc["timestamp_token"] = token
        proof = inclusion_proof(checkpoint, case.reference)
    bundle = {
        "format": FORMAT,
        "v": FORMAT_VERSION,
        "variant": variant,
        "communications": communications,
        "generated_at": iso_utc(generated_at),
        "case": _case_section(case, variant, events),
        "chain": {"seq": len(events), "head": head},
        "events": events,
        "records": {
            "communications": _communications(case, variant, communications),
            "evidence": _evidence(case, variant),
            "attestation": _attestation(case, variant),
            "disputes": _disputes(case, variant),
            "escalations": _escalations(case, variant),
        },
        "checkpoint": cp_doc,
        "inclusion_proof": proof,
    }
    return to_json_value(bundle)


def bundle_bytes(bundle: dict[str, Any]) -> bytes:
    """The canonical JSON of the bundle: the attachment and the JSON export."""
    return canonical_json(bundle)


def bundle_digest(bundle: dict[str, Any]) -> str:
    return sha256_hex(bundle_bytes(bundle))


def generated_at_of(bundle: dict[str, Any]) -> datetime:
    return parse_iso_utc(bundle["generated_at"])


def actors(events: Iterable[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(name, organization, role) of everyone who acts in the events, in
    order of first appearance."""
    seen: dict[tuple[str, str, str], None] = {}
    for e in events:
        a = e.get("actor")
        if isinstance(a, dict):
            key = (
                str(a.get("name") or a.get("username") or "Unknown"),
                str(a.get("organization") or ""),
                str(a.get("role") or ""),
            )
            seen.setdefault(key, None)
    return list(seen)
