"""A case as its vendor sees it, whoever asks: the portal shows it to the
case's vendor contacts, and to staff as a read-only preview.

Everything here reads ``visibility``'s declaration and nothing else: the
shared case fields (``VENDOR_CASE_FIELDS``), the events and payload keys
(``VENDOR_EVENT_KEYS``), non-internal communications and evidence. Whether
the asker may see the case at all is the caller's question
(``access.visible_cases`` / ``access.can``); a case the vendor cannot see
yet (not notified) has no vendor view.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet

from disclosure.accounts.models import Role
from disclosure.affected.models import Dispute
from disclosure.comms.models import Communication, Direction
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger.models import CaseEvent, EventKind

from . import policies
from .models import Case
from .stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage
from .visibility import VENDOR_DETAIL_FIELDS, VENDOR_EVENT_KEYS

TIMELINE_PAGE_SIZE = 50
RECORDS_PAGE_SIZE = 25

# The rows a vendor may read, as filters (the same rule as selectors.*_for).
VENDOR_EVENTS = Q(internal=False, kind__in=list(VENDOR_EVENT_KEYS))
VENDOR_COMMUNICATIONS = ~Q(direction=Direction.INTERNAL)
VENDOR_EVIDENCE = Q(internal=False)


def vendor_sees(case: Case) -> bool:
    """Whether the case's vendor sees it at all (from notification on)."""
    return case.vendor_notified_at is not None


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: Any


@dataclass(frozen=True)
class StageRow:
    stage: Stage
    label: str
    occurred_at: datetime | None
    current: bool


@dataclass(frozen=True)
class DueRow:
    key: str
    label: str
    due: datetime
    met_at: datetime | None
    status: str  # "met", "met late", "overdue", "open", "not met"


@dataclass(frozen=True)
class VendorEvent:
    seq: int
    kind: str
    label: str
    occurred_at: datetime
    recorded_at: datetime
    actor_name: str
    actor_organization: str
    payload: dict[str, Any]  # only the declared keys
    summary: str
    hash: str


def event_summary(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what a vendor-visible event records (from its
    declared payload keys only)."""
    if kind == EventKind.STAGE_CHANGED:
        milestone = payload.get("milestone", "")
        text = Stage(milestone).label if milestone in Stage.values else str(milestone)
        return f"{text} (recorded late)" if payload.get("late") else text
    if kind == EventKind.COMMUNICATION_LOGGED:
        return str(payload.get("subject") or "")
    if kind in (EventKind.EVIDENCE_ATTACHED,):
        return str(payload.get("name") or "")
    if kind == EventKind.DISPUTE_FILED:
        return str(payload.get("subject") or "")
    if kind == EventKind.DETAILS_UPDATED:
        return "Changed: " + ", ".join(sorted(payload.get("changes") or {}))
    if kind == EventKind.FOLLOW_UP_OPENED:
        return f"Follow-up case {payload.get('follow_up', '')}"
    return ""


def shared_fields(case: Case) -> list[Field]:
    """The case's vendor-visible details with their labels (empty values left out)."""
    rows = []
    for name in VENDOR_DETAIL_FIELDS:
        field = Case._meta.get_field(name)
        value = getattr(case, name)
        if value in (None, "", [], {}):
            continue
        if getattr(field, "choices", None):
            value = getattr(case, f"get_{name}_display")()
        label = str(field.verbose_name)
        label = "TLP" if name == "tlp" else label[:1].upper() + label[1:]
        rows.append(Field(name, label, value))
    return rows


def stage_rows(case: Case) -> list[StageRow]:
    return [
        StageRow(s, s.label, getattr(case, STAGE_TIME_FIELD[s]), case.stage == s)
        for s in STAGE_ORDER
    ]


def due_rows(case: Case, at: datetime) -> list[DueRow]:
    """The policy's deadlines the vendor is held to, each met, met late,
    overdue or open at ``at`` (not met once closed)."""
    due = policies.case_due_dates(case)
    if due is None:
        return []
    spec = (
        ("acknowledge", "Acknowledge the notice", due.acknowledge, case.vendor_acknowledged_at),
        ("secure", "Secure the asset", due.secure, case.secured_at),
        ("publish", "Publication", due.publish, case.published_at),
    )
    rows = []
    for key, label, when, met in spec:
        if met is not None:
            status = "met" if met <= when else "met late"
        elif case.stage == Stage.CLOSED:
            status = "not met"
        else:
            status = "overdue" if at > when else "open"
        rows.append(DueRow(key, label, when, met, status))
    return rows


def vendor_payload(kind: str, payload: Any) -> dict[str, Any]:
    """``payload`` cut to the keys declared for ``kind``."""
    keys = VENDOR_EVENT_KEYS.get(kind, frozenset())
    return {k: v for k, v in (payload or {}).items() if k in keys}


def actor_name(snapshot: dict[str, Any]) -> str:
    """Who acted, as the vendor is told: their own contacts by name; the
    firm's people only as the firm (who works a case is the firm's business,
    like the assignee); the system as such."""
    if snapshot.get("role") == Role.VENDOR_CONTACT:
        return str(snapshot.get("name") or snapshot.get("username") or "")
    if snapshot.get("role") == "system":
        return "System"
    return str(snapshot.get("organization") or "The research firm")


def events(case: Case) -> QuerySet[CaseEvent]:
    """The vendor-visible events of ``case``, newest first."""
    return CaseEvent.objects.filter(VENDOR_EVENTS, case=case).order_by("-seq")


def timeline(case: Case, *, page=None) -> tuple[Page, list[VendorEvent]]:
    """One page of the vendor-visible events (newest first), each with only
    its declared payload keys and who acted (name and organization, as the
    ledger froze them)."""
    current = Paginator(events(case), TIMELINE_PAGE_SIZE).get_page(page)
    rows = []
    for e in current.object_list:
        actor = e.actor_snapshot if isinstance(e.actor_snapshot, dict) else {}
        try:
            label = EventKind(e.kind).label
        except ValueError:
            label = e.kind
        rows.append(
            VendorEvent(
                seq=e.seq,
                kind=e.kind,
                label=label,
                occurred_at=e.occurred_at,
                recorded_at=e.recorded_at,
                actor_name=actor_name(actor),
                actor_organization=str(actor.get("organization") or ""),
                payload=(payload := vendor_payload(e.kind, e.payload)),
                summary=event_summary(e.kind, payload),
                hash=e.hash,
            )
        )
    return current, rows


def communications(case: Case) -> QuerySet[Communication]:
    """Messages exchanged with the vendor (never internal notes), newest
    first, with their attachments."""
    return (
        Communication.objects.filter(VENDOR_COMMUNICATIONS, case=case)
        .prefetch_related("attachments")
        .order_by("-occurred_at", "-id")
    )


def evidence(case: Case) -> QuerySet[EvidenceFile]:
    """The case's shared evidence files (never internal ones), newest first."""
    return EvidenceFile.objects.filter(VENDOR_EVIDENCE, case=case).order_by("-uploaded_at", "-id")


def attestation(case: Case) -> DeletionAttestation | None:
    return DeletionAttestation.objects.filter(case=case).select_related("countersigned_by").first()


def disputes(case: Case) -> QuerySet[Dispute]:
    return Dispute.objects.filter(case=case).order_by("filed_at", "id")


def follow_ups(case: Case) -> QuerySet[Case]:
    """Follow-up cases the vendor sees (notified ones)."""
    return Case.objects.filter(follows_up=case, vendor_notified_at__isnull=False).order_by("pk")


def case_view(
    case: Case, *, at: datetime, page=None, comms_page=None, evidence_page=None
) -> dict[str, Any]:
    """Everything the vendor's case page shows, as template context."""
    timeline_page, timeline_rows = timeline(case, page=page)
    return {
        "case": case,
        "fields": shared_fields(case),
        "stages": stage_rows(case),
        "deadlines": due_rows(case, at),
        "timeline_page": timeline_page,
        "timeline": timeline_rows,
        "communications": Paginator(communications(case), RECORDS_PAGE_SIZE).get_page(comms_page),
        "evidence": Paginator(evidence(case), RECORDS_PAGE_SIZE).get_page(evidence_page),
        "attestation": attestation(case),
        "disputes": list(disputes(case)),
        "follow_ups": list(follow_ups(case)),
    }
