"""A case as its vendor sees it, whoever asks: the portal shows it to the
case's vendor contacts, and to staff as a read-only preview.

Everything here reads ``visibility``'s declaration and nothing else: the
shared case fields (``VENDOR_CASE_FIELDS``), the events and payload keys
(``VENDOR_EVENT_KEYS``), non-internal communications and evidence. Whether
the asker may see the case at all is the caller's question
(``access.visible_cases`` / ``access.can``); a case the vendor cannot see
yet (not notified) has no vendor view.

The projection of an event (``project_event``) is the one the portal, the
API (``selectors.events_for`` / ``events_by_reference`` and its event
serializer) and the vendor variant of the legal export all show. An event is
shown to the case's vendor (``shown``; ``SHOWN`` is the same rule as a
query condition over ``with_vendor_scope`` rows) when:

- its kind is declared vendor-visible and it is not internal;
- it was recorded after the case last changed vendor (``vendor_since``: the
  seq of the last ``details_updated`` event that changed the vendor, 0 when
  it never changed): what was recorded while the case belonged to another
  vendor, and the change itself (it names the old vendor and its values),
  are never shown to the new one;
- it does not name a case the vendor does not see (``linked_visible``): a
  ``follow_up_opened`` event is shown only once its follow-up case is this
  vendor's and notified; a ``case_opened`` event's ``follows_up`` is null
  unless the earlier case is this vendor's and notified.

Its payload carries only the declared keys, and its actor is the vendor's
own contact or the system as recorded, the firm's people only as the firm
(``vendor_actor``: no id, username, name or role of theirs).

Records follow the same rule (``vendor_communications``, ``vendor_evidence``,
read by the portal, ``selectors.communications_for`` / ``evidence_for`` and
the vendor export): never internal ones, and none logged by an event up to
the case's last change of vendor (a file shared again after it excepted).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import (
    BooleanField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models import Case as CaseWhen
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from disclosure.accounts.models import Role
from disclosure.affected.models import Dispute
from disclosure.comms.models import Communication, Direction
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger.models import CaseEvent, EventKind

from . import policies
from .models import Case
from .stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage
from .terms import describe_terms_change
from .visibility import VENDOR_DETAIL_FIELDS, VENDOR_EVENT_KEYS, vendor_may_see_event

TIMELINE_PAGE_SIZE = 50
RECORDS_PAGE_SIZE = 25

# The event that gave the case to another vendor.
VENDOR_CHANGE = Q(kind=EventKind.DETAILS_UPDATED, payload__changes__has_key="vendor")


def _last_vendor_change(case_filter: Q) -> Coalesce:
    """The seq of the last vendor change of the one case ``case_filter``
    (a condition on CaseEvent) picks, 0 when none: a subquery that does not
    depend on the outer row, so the database reads it once per query."""
    last = CaseEvent.objects.filter(case_filter, VENDOR_CHANGE).order_by("-seq").values("seq")[:1]
    return Coalesce(Subquery(last), Value(0))


def _record_ids(case: Case, kind: str, key: str, seqs: Q) -> QuerySet:
    """The ids under payload ``key`` of ``case``'s events of ``kind`` whose
    seq meets ``seqs``, as a subquery."""
    return (
        CaseEvent.objects.filter(seqs, case=case, kind=kind)
        .annotate(record_id=Cast(KT(f"payload__{key}"), IntegerField()))
        .filter(record_id__isnull=False)  # NOT IN over a NULL would drop every row
        .values("record_id")
    )


def vendor_communications(case: Case) -> Q:
    """The condition on ``case``'s communications its vendor may read: not
    internal notes, and not logged (``communication_logged``) up to the
    case's last change of vendor, while it belonged to another vendor."""
    before = Q(seq__lte=_last_vendor_change(Q(case=case)))
    inherited = _record_ids(case, EventKind.COMMUNICATION_LOGGED, "communication_id", before)
    return VENDOR_COMMUNICATIONS & ~Q(pk__in=inherited)


def vendor_evidence(case: Case) -> Q:
    """The condition on ``case``'s evidence files its vendor may read: not
    internal, and not attached up to the case's last change of vendor
    unless shared again (``evidence_shared``) after it."""
    since = _last_vendor_change(Q(case=case))
    inherited = _record_ids(case, EventKind.EVIDENCE_ATTACHED, "evidence_id", Q(seq__lte=since))
    shared = _record_ids(case, EventKind.EVIDENCE_SHARED, "evidence_id", Q(seq__gt=since))
    return VENDOR_EVIDENCE & (~Q(pk__in=inherited) | Q(pk__in=shared))


# The rows a vendor may read, as filters (the same rule as selectors.*_for).
VENDOR_EVENTS = Q(internal=False, kind__in=list(VENDOR_EVENT_KEYS))
# (Not yet what was logged under another vendor: ``vendor_communications``
# and ``vendor_evidence`` give the whole rule for a case.)
VENDOR_COMMUNICATIONS = ~Q(direction=Direction.INTERNAL) & ~Q(sender_unknown=True)
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
    actor: dict[str, Any]  # vendor_actor: id, username, name, organization, role


def dispute_summary(kind: str, payload: dict[str, Any]) -> str:
    """The line the portal, the staff page and the PDF print for a
    ``dispute_answered`` or ``dispute_settled`` event (from the keys the
    vendor may see): 'Firm answered dispute #7', 'Dispute #7 settled:
    accepted — the vendor's count was right'; '' for any other kind."""
    number = payload.get("dispute_id", "?")
    if kind == EventKind.DISPUTE_ANSWERED:
        return f"Firm answered dispute #{number}"
    if kind == EventKind.DISPUTE_SETTLED:
        text = f"Dispute #{number} settled: {payload.get('outcome') or '?'}"
        reason = payload.get("reason")
        return f"{text} — {reason}" if reason else text
    return ""


def event_summary(kind: str, payload: dict[str, Any]) -> str:
    """One line saying what a vendor-visible event records (from its
    declared payload keys only)."""
    if kind in (EventKind.DISPUTE_ANSWERED, EventKind.DISPUTE_SETTLED):
        return dispute_summary(kind, payload)
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
    if kind == EventKind.POLICY_TERMS_CHANGED:
        return describe_terms_change(payload)
    return ""


# Labels that people read on both sides (the staff case page prints the same
# words); other fields use their model's verbose name.
DETAIL_LABELS = {
    "tlp": "TLP",
    "volume_bytes": "Volume",
    "volume_objects": "Objects",
    "records_by_kind": "Records by kind",
    "affected_entity_count": "Affected entities",
    "affected_country_count": "Affected countries",
    "data_from": "Data from",
    "data_to": "Data to",
    "data_categories": "Data categories",
}


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
        label = DETAIL_LABELS.get(name) or str(field.verbose_name)
        rows.append(Field(name, label[:1].upper() + label[1:], value))
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


def vendor_actor(snapshot: Any) -> dict[str, Any]:
    """The actor of an event as the vendor is shown it: their own contacts
    and the system as the ledger froze them; the firm's people only as the
    firm (``actor_name``), without id, username or role."""
    snapshot = snapshot if isinstance(snapshot, dict) else {}
    if snapshot.get("role") in (Role.VENDOR_CONTACT, "system"):
        keep = snapshot
    else:
        keep = {"id": None, "username": "", "name": actor_name(snapshot), "role": None,
                "organization": snapshot.get("organization")}  # fmt: skip
    return {
        "id": keep.get("id"),
        "username": keep.get("username") or "",
        "name": keep.get("name") or "",
        "organization": keep.get("organization"),
        "role": keep.get("role"),
    }


# --- which events the case's vendor is shown -------------------------------------

# What ``with_vendor_scope`` adds to each row, for ``shown`` and ``project_event``.
SCOPE_COLUMNS = ("vendor_since", "linked_visible")
# ``shown`` as a condition on ``with_vendor_scope`` rows.
SHOWN = (
    VENDOR_EVENTS
    & Q(seq__gt=F("vendor_since"))
    & (~Q(kind=EventKind.FOLLOW_UP_OPENED) | Q(linked_visible=True))
)


def with_vendor_scope(
    rows: QuerySet[CaseEvent], *, case: Case | None = None, reference: str | None = None
) -> QuerySet[CaseEvent]:
    """``rows`` (events of one case: ``case``, or the case ``reference``
    when it is not loaded) annotated with what ``shown`` and
    ``project_event`` read beyond the row:

    - ``vendor_since``: the seq of the case's last vendor change (0 if none),
      a subquery that does not depend on the row, so the database reads it
      once;
    - ``linked_visible``: for ``follow_up_opened`` whether the follow-up it
      names, for ``case_opened`` whether the case it follows up, is a case
      of this case's vendor that has been notified (True for other kinds).

    With ``case`` given, its vendor and follow-up link are written into the
    query, which then needs no join to the case row.
    """
    if case is not None:
        case_filter = Q(case=case)
        vendor_id, follows_up_id = case.vendor_id, case.follows_up_id
    else:
        case_filter = Q(case__reference=reference)
        vendor_id, follows_up_id = OuterRef("case__vendor_id"), OuterRef("case__follows_up_id")
    seen = Q(vendor_id=vendor_id, vendor_notified_at__isnull=False)
    linked = [
        When(
            kind=EventKind.FOLLOW_UP_OPENED,
            then=Exists(Case.objects.filter(seen, reference=OuterRef("linked_reference"))),
        )
    ]
    if follows_up_id is not None:
        opened = Q(kind=EventKind.CASE_OPENED)
        if case is None:
            opened &= Q(case__follows_up__isnull=False)
        linked.append(When(opened, then=Exists(Case.objects.filter(seen, pk=follows_up_id))))
    return rows.annotate(
        vendor_since=_last_vendor_change(case_filter),
        linked_reference=KT("payload__follow_up"),
        linked_visible=CaseWhen(*linked, default=Value(True), output_field=BooleanField()),
    )


def shown(row: Any) -> bool:
    """Whether the case's vendor is shown the event ``row`` (a CaseEvent or
    a dict of its columns, with ``SCOPE_COLUMNS`` from ``with_vendor_scope``).
    ``SHOWN`` is the same rule as a query condition."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    kind = get("kind")
    return (
        vendor_may_see_event(kind, get("internal"))
        and get("seq") > get("vendor_since")
        and (kind != EventKind.FOLLOW_UP_OPENED or bool(get("linked_visible")))
    )


def project_event(row: Any) -> dict[str, Any] | None:
    """The event ``row`` (as for ``shown``) as the case's vendor sees it, or
    None when it is withheld: ``seq``, ``kind``, ``occurred_at`` and
    ``recorded_at`` (datetimes), ``actor`` (``vendor_actor``), ``payload``
    (the declared keys; a ``case_opened`` event's ``follows_up`` null unless
    the vendor sees that case), ``prev_hash`` and ``hash``."""
    if not shown(row):
        return None
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    kind = get("kind")
    payload = vendor_payload(kind, get("payload"))
    if kind == EventKind.CASE_OPENED and payload.get("follows_up") and not get("linked_visible"):
        payload["follows_up"] = None
    return {
        "seq": get("seq"),
        "kind": kind,
        "occurred_at": get("occurred_at"),
        "recorded_at": get("recorded_at"),
        "actor": vendor_actor(get("actor_snapshot")),
        "payload": payload,
        "prev_hash": get("prev_hash"),
        "hash": get("hash"),
    }


def events(case: Case) -> QuerySet[CaseEvent]:
    """The events ``case``'s vendor is shown (``shown``), newest first, with
    ``SCOPE_COLUMNS`` for ``project_event``."""
    rows = with_vendor_scope(CaseEvent.objects.filter(case=case), case=case)
    return rows.filter(SHOWN).order_by("-seq")


def timeline(case: Case, *, page=None) -> tuple[Page, list[VendorEvent]]:
    """One page of the events the vendor is shown (newest first), each as
    ``project_event`` makes it (declared payload keys; who acted, the firm's
    people only as the firm)."""
    current = Paginator(events(case), TIMELINE_PAGE_SIZE).get_page(page)
    rows = []
    for e in current.object_list:
        seen = project_event(e)
        if seen is None:  # pragma: no cover - the query holds the same rule
            continue
        try:
            label = EventKind(e.kind).label
        except ValueError:
            label = e.kind
        actor = seen["actor"]
        rows.append(
            VendorEvent(
                seq=e.seq,
                kind=e.kind,
                label=label,
                occurred_at=e.occurred_at,
                recorded_at=e.recorded_at,
                actor_name=str(actor["name"] or actor["username"]),
                actor_organization=str(actor["organization"] or ""),
                payload=seen["payload"],
                summary=event_summary(e.kind, seen["payload"]),
                hash=e.hash,
                actor=actor,
            )
        )
    return current, rows


def communications(case: Case) -> QuerySet[Communication]:
    """Messages exchanged with the vendor (never internal notes), newest
    first, with their attachments."""
    return (
        Communication.objects.filter(vendor_communications(case), case=case)
        .prefetch_related("attachments")
        .order_by("-occurred_at", "-id")
    )


def evidence(case: Case) -> QuerySet[EvidenceFile]:
    """The case's shared evidence files (never internal ones), newest first."""
    rows = EvidenceFile.objects.filter(vendor_evidence(case), case=case)
    return rows.order_by("-uploaded_at", "-id")


def attestation(case: Case) -> DeletionAttestation | None:
    return DeletionAttestation.objects.filter(case=case).select_related("countersigned_by").first()


def disputes(case: Case) -> QuerySet[Dispute]:
    return Dispute.objects.filter(case=case).order_by("filed_at", "id")


def follow_ups(case: Case) -> QuerySet[Case]:
    """Follow-up cases the vendor sees (its own, notified)."""
    return Case.objects.filter(
        follows_up=case, vendor_id=case.vendor_id, vendor_notified_at__isnull=False
    ).order_by("pk")


def shared_reference(
    *, vendor_id: int, reference: str | None, its_vendor_id: int | None, its_notified_at
) -> str | None:
    """``reference`` (of a case linked to one of vendor ``vendor_id``'s
    cases, whose vendor is ``its_vendor_id``, notified at
    ``its_notified_at``) when that vendor sees the linked case (its own,
    notified), else None."""
    if reference is None or its_vendor_id != vendor_id or its_notified_at is None:
        return None
    return reference


def shared_follows_up(case: Case) -> str | None:
    """The reference of the case ``case`` follows up, when its vendor sees
    that case (its own, notified), else None. Reads ``case.follows_up``."""
    parent = case.follows_up if case.follows_up_id else None
    if parent is None:
        return None
    return shared_reference(
        vendor_id=case.vendor_id,
        reference=parent.reference,
        its_vendor_id=parent.vendor_id,
        its_notified_at=parent.vendor_notified_at,
    )


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
