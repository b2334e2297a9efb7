"""Generate a large, valid ledger fast: cases, events and the records they
vouch for, hashed and fingerprinted with the application's own functions and
loaded with PostgreSQL's COPY (bulk_create elsewhere).

Each case gets ten events: case_opened, internal_details, evidence_attached,
the notice (communication_logged), stage_changed to vendor_notified,
vendor_acknowledged, an inbound message, stage_changed to secured, a
dispute and an internal note. The generated data passes verify_ledger.
"""

import io
import json
import time
from datetime import UTC, datetime, timedelta

from django.db import connection

from disclosure.affected.models import Dispute
from disclosure.cases.deadlines import refresh_next_due
from disclosure.cases.models import Case
from disclosure.cases.state import apply_event, empty_state, row_state, state_digest
from disclosure.cases.terms import TERMS_COLUMNS, policy_terms, terms_columns
from disclosure.comms.models import Communication
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import iso_utc
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.storage import store_stream
from disclosure.ledger.chain import GENESIS, compute_hash, event_body
from disclosure.ledger.fingerprints import COMMUNICATION, DISPUTE, EVIDENCE
from disclosure.ledger.models import CaseEvent

EVENTS_PER_CASE = 10
_CASE_COLUMNS = (
    "id", "reference", "title", "summary", "vendor_id", "asset_provider", "asset_kind",
    "asset_identifier", "asset_region", "how_found", "data_categories",
    "data_categories_other", "volume_bytes",
    "volume_objects", "records_by_kind", "data_from", "data_to", "affected_entity_count",
    "affected_country_count", "severity", "tlp", "time_zone", "policy_id", "assignee_id",
    "legal_hold", "follows_up_id", "stage", "found_at", "vendor_notified_at", "secured_at",
    "data_deleted_at", "published_at", "closed_at", "vendor_acknowledged_at",
    "publication_url", "publication_title", "close_reason", "ledger_seq", "ledger_head",
    "created_at", "updated_at", *TERMS_COLUMNS,
)  # fmt: skip
_EVENT_COLUMNS = (
    "id", "case_id", "seq", "kind", "occurred_at", "recorded_at", "actor_id",
    "actor_snapshot", "payload", "internal", "v", "state", "prev_hash", "hash",
)  # fmt: skip


class _Sink:
    """Rows of one table, written by COPY on PostgreSQL (bulk_create elsewhere)."""

    def __init__(self, model, columns):
        self.model, self.columns, self.rows = model, columns, []

    def add(self, row: dict) -> None:
        self.rows.append(row)

    def flush(self) -> None:
        if not self.rows:
            return
        if connection.vendor == "postgresql":
            table = self.model._meta.db_table
            with connection.cursor() as cur:
                raw = cur.cursor
                columns = ", ".join(f'"{c}"' for c in self.columns)  # "references" is reserved
                with raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for r in self.rows:
                        copy.write_row(
                            [
                                json.dumps(v) if isinstance(v, (dict, list)) else v
                                for v in (r[c] for c in self.columns)
                            ]
                        )
        else:
            # Keep the generated times: switch auto_now(_add) off while creating.
            auto = [f for f in self.model._meta.fields if getattr(f, "auto_now_add", False)
                    or getattr(f, "auto_now", False)]  # fmt: skip
            saved = [(f.auto_now, f.auto_now_add) for f in auto]
            for f in auto:
                f.auto_now = f.auto_now_add = False
            try:
                self.model.objects.bulk_create(
                    [self.model(**{c: r[c] for c in self.columns}) for r in self.rows]
                )
            finally:
                for f, (now_, add) in zip(auto, saved, strict=True):
                    f.auto_now, f.auto_now_add = now_, add
        self.rows = []


def _reset_sequences(models) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cur:
        for model in models:
            table = model._meta.db_table
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            )


def generate(n_cases: int, *, actor, vendor, policy, batch: int = 2000) -> float:
    """Write ``n_cases`` cases of ten events each; return the seconds taken."""
    t0 = time.perf_counter()
    snapshot = {
        "id": actor.pk, "username": actor.username, "name": actor.display_name(),
        "organization": "Research Firm", "role": "analyst",
    }  # fmt: skip
    base = datetime(2025, 1, 1, tzinfo=UTC)
    ids = {"case": _next_id(Case), "event": _next_id(CaseEvent), "comm": _next_id(Communication),
           "ev": _next_id(EvidenceFile), "dispute": _next_id(Dispute)}  # fmt: skip
    sinks = {
        "case": _Sink(Case, _CASE_COLUMNS),
        "event": _Sink(CaseEvent, _EVENT_COLUMNS),
        "comm": _Sink(Communication, (*COMMUNICATION.columns, *COMMUNICATION.added)),
        "ev": _Sink(EvidenceFile, EVIDENCE.columns),
        # Columns fingerprinted once set (DISPUTE.added) are written empty.
        "dispute": _Sink(Dispute, DISPUTE.columns + DISPUTE.added),
    }
    first_case = ids["case"]
    for i in range(n_cases):
        _one_case(i, ids, sinks, snapshot, base, vendor, policy)
        if (i + 1) % batch == 0:
            for s in sinks.values():
                s.flush()
    for s in sinks.values():
        s.flush()
    _reset_sequences([Case, CaseEvent, Communication, EvidenceFile, Dispute])
    refresh_next_due(Case.objects.filter(pk__gte=first_case))  # as the services would
    return time.perf_counter() - t0


def _next_id(model) -> int:
    last = model.objects.order_by("-id").values_list("id", flat=True).first()
    return (last or 0) + 1


def _one_case(i, ids, sinks, snapshot, base, vendor, policy) -> None:
    pk = ids["case"]
    ids["case"] += 1
    found = base + timedelta(minutes=i)
    t = [found + timedelta(hours=h) for h in range(EVENTS_PER_CASE)]
    reference = f"BEN-2025-{i + 1:06d}"
    case = {
        "id": pk, "reference": reference, "title": f"Exposed bucket {i}", "summary": "",
        "vendor_id": vendor.pk, "asset_provider": "aws", "asset_kind": "s3_bucket",
        "asset_identifier": f"s3://bucket-{i}", "asset_region": "", "how_found": "scanner",
        "data_categories": ["pii"], "data_categories_other": "", "volume_bytes": 1000 + i,
        "volume_objects": None,
        "records_by_kind": {"emails": i}, "data_from": None, "data_to": None,
        "affected_entity_count": None, "affected_country_count": None, "severity": "medium",
        "tlp": "amber", "time_zone": "UTC", "policy_id": policy.pk, "assignee_id": None,
        "legal_hold": False, "follows_up_id": None, "stage": "secured", "found_at": t[0],
        "vendor_notified_at": t[4], "secured_at": t[7], "data_deleted_at": None,
        "published_at": None, "closed_at": None, "vendor_acknowledged_at": t[5],
        "publication_url": "", "publication_title": "", "close_reason": "",
        "created_at": t[0], "updated_at": t[9], **terms_columns(policy_terms(policy)),
    }  # fmt: skip
    details = {
        n: case[f"{n}_id" if n in ("vendor", "policy", "assignee") else n]
        for n in ("title", "summary", "asset_provider", "asset_kind", "asset_identifier",
                  "asset_region", "data_categories", "volume_bytes", "volume_objects",
                  "records_by_kind", "data_from", "data_to", "affected_entity_count",
                  "affected_country_count", "tlp")
    }  # fmt: skip
    details["vendor"] = {"id": vendor.pk, "name": vendor.name}
    details["policy"] = {"id": policy.pk, "name": policy.name}
    internal_details = {"how_found": "scanner", "severity": "medium", "assignee": None,
                        "time_zone": "UTC"}  # fmt: skip

    def comm(n, direction, at, body):
        cid = ids["comm"]
        ids["comm"] += 1
        row = {
            "id": cid, "case_id": pk, "direction": direction, "channel": "email",
            "sender": "research@firm.example", "recipients": ["security@vendor.example"],
            "subject": f"Message {n}", "body": body,
            "body_sha256": sha256_hex(body.encode()), "occurred_at": at,
            "logged_by_id": snapshot["id"], "logged_at": at,
            # the mail columns (comms 0003): empty, so not fingerprinted
            "message_id": "", "in_reply_to": "", "references": "", "raw_message_id": None,
            "sender_unknown": None, "automated": "",
        }  # fmt: skip
        sinks["comm"].add(row)
        fp = COMMUNICATION.fingerprint(COMMUNICATION.row_values({**row, "attachments": []}))
        return {
            "communication_id": cid, "direction": direction, "channel": "email",
            "sender": row["sender"], "recipients": row["recipients"], "subject": row["subject"],
            "body_sha256": row["body_sha256"], "attachments": [],
            "record": {"type": "communication", "id": cid, "fingerprint": fp},
        }  # fmt: skip

    eid = ids["ev"]
    ids["ev"] += 1
    # The capture is stored (content-addressed), so deep verification finds it.
    content = f"capture {i}".encode().ljust(100)
    content_hash = store_stream(io.BytesIO(content)).sha256
    ev = {
        "id": eid, "case_id": pk, "sha256": content_hash, "size": 100, "content_type":
        "text/plain", "original_name": "capture.txt", "kind": "exposure_capture",
        "description": "", "uploaded_by_id": snapshot["id"], "uploaded_at": t[2],
        "captured_at": None, "internal": False,
    }  # fmt: skip
    sinks["ev"].add(ev)
    did = ids["dispute"]
    ids["dispute"] += 1
    dispute = {
        "id": did, "case_id": pk, "subject": "Count", "firm_position": "65,000",
        "firm_provenance": "scan", "vendor_position": "fewer", "vendor_provenance": "audit",
        "filed_by_id": snapshot["id"], "filed_at": t[8], "status": "open",
        "answer": "", "answered_by_id": None, "answered_at": None,
        "settlement_reason": "", "settled_by_id": None, "settled_at": None,
        # the count-claim columns (affected 0004): empty, so not fingerprinted
        "count_level": "", "firm_count": None, "firm_count_method": "", "firm_count_at": None,
        "firm_count_basis": None, "vendor_count": None, "vendor_count_method": "",
        "vendor_count_at": None, "vendor_count_basis": None,
    }  # fmt: skip
    sinks["dispute"].add(dispute)
    notice = comm(1, "outbound", t[3], "We found your bucket open. " * 4)
    events = [
        ("case_opened", {"stage": "found", "details": details, "follows_up": None,
                         "terms": policy_terms(policy)}, False),
        ("internal_details", {"details": internal_details}, True),
        ("evidence_attached", {
            "evidence_id": eid, "sha256": content_hash, "size": 100,
            "content_type": "text/plain", "name": "capture.txt", "kind": "exposure_capture",
            "captured_at": None,
            "record": {"type": "evidence", "id": eid, "fingerprint": EVIDENCE.fingerprint(ev)},
        }, False),
        ("communication_logged", notice, False),
        ("stage_changed", {"from": "found", "to": "vendor_notified",
                           "milestone": "vendor_notified", "late": False,
                           "notice_communication_id": notice["communication_id"],
                           "channel": "email", "recipients": ["security@vendor.example"]}, False),
        ("vendor_acknowledged", {}, False),
        ("communication_logged", comm(2, "inbound", t[6], "Thanks, looking."), False),
        ("stage_changed", {"from": "vendor_notified", "to": "secured", "milestone": "secured",
                           "late": False, "basis": "retest", "retest_result": "403",
                           "confirmation_communication_id": None,
                           "confirmed_by_vendor_contact": False, "evidence": []}, False),
        ("dispute_filed", {
            "dispute_id": did, **{k: dispute[k] for k in (
                "subject", "firm_position", "firm_provenance", "vendor_position",
                "vendor_provenance")},
            "record": {"type": "dispute", "id": did,
                       "fingerprint": DISPUTE.fingerprint(DISPUTE.row_values(dispute))},
        }, False),
        ("communication_logged", comm(3, "internal", t[9], "note"), True),
    ]  # fmt: skip
    state = empty_state()
    final = state_digest(row_state(case))
    prev = GENESIS
    for seq, (kind, payload, internal) in enumerate(events, start=1):
        at = t[seq - 1]
        apply_event(state, kind, iso_utc(at), payload)
        digest = final if seq == len(events) else state_digest(state)
        body = event_body(
            case_reference=reference, seq=seq, kind=kind, occurred_at=at, recorded_at=at,
            actor=snapshot, payload=payload, internal=internal, state=digest, prev_hash=prev,
        )  # fmt: skip
        h = compute_hash(body)
        sinks["event"].add({
            "id": ids["event"], "case_id": pk, "seq": seq, "kind": kind, "occurred_at": at,
            "recorded_at": at, "actor_id": snapshot["id"], "actor_snapshot": snapshot,
            "payload": payload, "internal": internal, "v": 1, "state": digest,
            "prev_hash": prev, "hash": h,
        })  # fmt: skip
        ids["event"] += 1
        prev = h
    case["ledger_seq"], case["ledger_head"] = len(events), prev
    sinks["case"].add(case)
