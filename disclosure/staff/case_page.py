"""The read model of the staff case page: everything it shows, fetched
through the case selectors with a fixed number of queries whatever the
length of the case's ledger (the timeline is paginated).

Nothing here decides access: the selectors ask ``cases.access``, and the
actions offered are exactly ``access.available_actions``.
"""

import json
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.urls import NoReverseMatch, reverse

from disclosure.cases import access, policies, selectors, transitions
from disclosure.cases.models import Case
from disclosure.cases.stages import STAGE_ORDER, STAGE_TIME_FIELD, Stage, stage_index
from disclosure.cases.terms import describe_terms_change
from disclosure.cases.vendor_view import dispute_summary
from disclosure.core.timeutils import now
from disclosure.evidence import selectors as evidence_selectors
from disclosure.ledger.models import CaseEvent, EventKind

TIMELINE_PAGE_SIZE = 50
TIMELINE_MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class StageStep:
    """One stage on the stage bar."""

    stage: Stage
    label: str
    state: str  # "done", "current", "pending" or "skipped" (not recorded, yet behind)
    occurred_at: datetime | None = None
    recorded_at: datetime | None = None
    seq: int | None = None  # the ledger event that recorded the milestone
    late: bool = False  # recorded after a later stage (after an early publication)
    override_seq: int | None = None  # the override_granted event it needed
    corrected_by: tuple[int, ...] = ()
    since_previous: timedelta | None = None  # occurred_at minus the previous stage's


@dataclass(frozen=True)
class Deadline:
    """One deadline of the case's disclosure policy."""

    key: str
    label: str
    due: datetime
    met_at: datetime | None
    status: str  # "met", "met late", "overdue", "open" or "not met" (closed case)


@dataclass(frozen=True)
class Deadlines:
    policy_name: str
    rows: tuple[Deadline, ...]
    next_due: Deadline | None
    publish_with_grace: datetime
    unresponsive: bool


@dataclass(frozen=True)
class EventLink:
    seq: int
    href: str  # its anchor, on its own page of the timeline


@dataclass(frozen=True)
class TimelineEntry:
    event: CaseEvent
    label: str
    actor_name: str  # from the snapshot frozen in the event
    actor_organization: str
    summary: str
    payload_json: str
    corrected_by: tuple[EventLink, ...]
    corrects: EventLink | None


@dataclass(frozen=True)
class Timeline:
    page: Page
    entries: tuple[TimelineEntry, ...]
    size: int


@dataclass(frozen=True)
class ActionLink:
    action: str
    label: str
    url: str | None  # None while the action's form does not exist


def stage_bar(case: Case, events: list[CaseEvent], corrections: dict[int, list[int]]):
    """The six stages with when each occurred (the case's time, corrections
    included) and was recorded (its ledger event), the time since the
    previous stage, and late milestones and overrides marked."""
    milestones: dict[Stage, CaseEvent] = {}
    overrides: list[CaseEvent] = []
    for event in events:
        if event.kind == EventKind.CASE_OPENED:
            milestones[Stage.FOUND] = event
        elif event.kind == EventKind.STAGE_CHANGED and "milestone" in event.payload:
            milestones[Stage(event.payload["milestone"])] = event
        elif event.kind == EventKind.OVERRIDE_GRANTED:
            overrides.append(event)
    current = stage_index(case.stage)
    steps, previous = [], None
    for i, stage in enumerate(STAGE_ORDER):
        occurred = getattr(case, STAGE_TIME_FIELD[stage])
        event = milestones.get(stage)
        override_seq = None
        if event is not None and event.payload.get("override"):
            granted = [o.seq for o in overrides if o.seq < event.seq]
            override_seq = granted[-1] if granted else None
        if i == current:
            state = "current"
        elif occurred is not None:
            state = "done"
        else:  # a later stage, or one an early publication skipped
            state = "pending" if i > current else "skipped"
        steps.append(
            StageStep(
                stage=stage,
                label=stage.label,
                state=state,
                occurred_at=occurred,
                recorded_at=event.recorded_at if event else None,
                seq=event.seq if event else None,
                late=bool(event and event.payload.get("late")),
                override_seq=override_seq,
                corrected_by=tuple(corrections.get(event.seq, ())) if event else (),
                since_previous=occurred - previous if occurred and previous else None,
            )
        )
        if occurred is not None:
            previous = occurred
    return steps


def deadlines(case: Case, at: datetime) -> Deadlines | None:
    """The policy's deadlines counted from the notification, each met, met
    late, overdue or open at ``at`` (not met, once the case is closed); what
    is due next (none once the case is closed); whether the vendor is
    unresponsive. None before notification."""
    due = policies.case_due_dates(case)
    if due is None:
        return None
    spec = (
        ("acknowledge", "Vendor acknowledges", due.acknowledge, case.vendor_acknowledged_at),
        ("secure", "Asset secured", due.secure, case.secured_at),
        ("publish", "Publication", due.publish, case.published_at),
    )
    closed = case.stage == Stage.CLOSED
    rows = []
    for key, label, when, met in spec:
        if met is not None:
            status = "met" if met <= when else "met late"
        elif closed:
            status = "not met"  # the case is over: nothing is overdue any more
        else:
            status = "overdue" if at > when else "open"
        rows.append(Deadline(key=key, label=label, due=when, met_at=met, status=status))
    pending = [r for r in rows if r.met_at is None]
    next_due = None
    if not closed and pending:
        next_due = min(pending, key=lambda r: r.due)
    return Deadlines(
        policy_name=case.policy.name,
        rows=tuple(rows),
        next_due=next_due,
        publish_with_grace=due.publish_with_grace,
        unresponsive=policies.is_unresponsive(case, at),
    )


def event_summary(event: CaseEvent) -> str:
    """One line saying what the event records, from its payload."""
    p = event.payload
    kind = event.kind
    if kind == EventKind.CASE_OPENED:
        return f"Opened at stage {p.get('stage', 'found')}."
    if kind == EventKind.STAGE_CHANGED:
        milestone = p.get("milestone", "")
        label = Stage(milestone).label if milestone in Stage.values else milestone
        return f"Milestone: {label}."
    if kind == EventKind.OVERRIDE_GRANTED:
        return f"Override of {p.get('action', '')}: {p.get('justification', '')}"
    if kind == EventKind.COMMUNICATION_LOGGED:
        return " ".join(
            x for x in (p.get("direction", ""), p.get("channel", ""), p.get("subject", "")) if x
        )
    if kind in (EventKind.EVIDENCE_ATTACHED, EventKind.EVIDENCE_SHARED):
        return f"{p.get('name', '')} (SHA-256 {str(p.get('sha256', ''))[:12]}…)"
    if kind == EventKind.DELETION_ATTESTED:
        total = p.get("total_bytes", 0)
        total = f"{total:,}" if isinstance(total, int) else str(total)
        return f"Method {p.get('method', '')}, {p.get('items', 0)} item(s), {total} bytes"
    if kind == EventKind.ATTESTATION_COUNTERSIGNED:
        return f"Countersigned: {p.get('statement', '')}".rstrip(": ")
    if kind == EventKind.VENDOR_ACKNOWLEDGED:
        return str(p.get("note", ""))
    if kind == EventKind.INTERNAL_DETAILS:
        return "Fields: " + ", ".join(sorted(p.get("details", {})))
    if kind == EventKind.DISPUTE_FILED:
        return f"Disputed: {p.get('subject', '')}"
    if kind in (EventKind.DISPUTE_ANSWERED, EventKind.DISPUTE_SETTLED):
        return dispute_summary(kind, p)
    if kind == EventKind.LEGAL_HOLD_CHANGED:
        state = "on" if p.get("legal_hold") else "lifted"
        return f"Legal hold {state}: {p.get('reason', '')}"
    if kind == EventKind.DETAILS_UPDATED:
        return "Changed: " + ", ".join(sorted(p.get("changes", {})))
    if kind == EventKind.FOLLOW_UP_OPENED:
        return f"Follow-up case {p.get('follow_up', '')}"
    if kind == EventKind.POLICY_TERMS_CHANGED:
        return describe_terms_change(p)
    if kind == EventKind.ESCALATED:
        return f"Escalated to {p.get('organization', '')}"
    if kind == EventKind.NOTE_ADDED:
        return str(p.get("note", ""))
    if kind == EventKind.CORRECTION:
        return ""  # shown with the corrected event's link
    return ""


def _page_size(raw) -> int:
    try:
        size = int(raw)
    except (TypeError, ValueError):
        return TIMELINE_PAGE_SIZE
    return max(1, min(size, TIMELINE_MAX_PAGE_SIZE))


def timeline(
    user, case: Case, corrections: list[tuple[int, int]], *, page=None, size=None
) -> Timeline:
    """A page of the ledger as ``user`` may read it, newest first (two
    queries: the count and the page), each event with the corrections of it
    and the event it corrects."""
    size = _page_size(size)
    rows = selectors.events_for(user, case).order_by("-seq")
    paginator = Paginator(rows, size)
    current = paginator.get_page(page)
    whole = paginator.count == case.ledger_seq
    if whole:
        # Every event is readable (staff), so seqs are 1..ledger_seq without
        # gaps: read the page as a seq range on the (case, seq) index
        # instead of an OFFSET, which deep pages of long ledgers pay for.
        top = case.ledger_seq - (current.number - 1) * size
        current.object_list = rows.filter(seq__lte=top, seq__gt=top - size)
    corrected_by: dict[int, list[int]] = defaultdict(list)
    corrects: dict[int, int] = {}
    for seq, target in corrections:
        corrected_by[target].append(seq)
        corrects[seq] = target

    def link(seq: int) -> EventLink:
        # Staff read the whole ledger: seq n is at position ledger_seq - n
        # of the newest-first list. Otherwise link to the anchor alone.
        if whole and 1 <= seq <= case.ledger_seq:
            number = (case.ledger_seq - seq) // size + 1
            return EventLink(seq, f"?page={number}&size={size}#event-{seq}")
        return EventLink(seq, f"#event-{seq}")

    entries = []
    for event in current.object_list:
        try:
            label = EventKind(event.kind).label
        except ValueError:
            label = event.kind
        target = corrects.get(event.seq)
        actor = event.actor_snapshot if isinstance(event.actor_snapshot, dict) else {}
        entries.append(
            TimelineEntry(
                event=event,
                label=label,
                actor_name=str(actor.get("name") or actor.get("username") or "Unknown"),
                actor_organization=str(actor.get("organization") or ""),
                summary=event_summary(event),
                payload_json=json.dumps(event.payload, indent=2, sort_keys=True, default=str),
                corrected_by=tuple(link(s) for s in corrected_by.get(event.seq, ())),
                corrects=link(target) if isinstance(target, int) else None,
            )
        )
    return Timeline(page=current, entries=tuple(entries), size=size)


def action_links(user, case: Case) -> list[ActionLink]:
    """The actions ``user`` may take on ``case`` now (``access.available_actions``),
    each with the URL of its form, or no URL while that form does not exist."""
    links = []
    for t in access.available_actions(user, case):
        try:
            url = reverse(
                "staff:case_action", kwargs={"reference": case.reference, "action": t.action}
            )
        except NoReverseMatch:
            url = None
        links.append(ActionLink(action=t.action, label=t.label, url=url))
    return links


def timeline_context(user, case: Case, *, page=None, size=None) -> dict:
    """What the timeline section alone shows (for an htmx page change)."""
    corrections = selectors.corrections_for(user, case)
    return {"case": case, "timeline": timeline(user, case, corrections, page=page, size=size)}


RECORDS_PAGE_SIZE = 25


def records_page(rows, page) -> Page:
    """One page of a record tab (communications, evidence): a long case shows
    its records 25 at a time, like its timeline, not all at once."""
    return Paginator(rows, RECORDS_PAGE_SIZE).get_page(page)


# --- tabs -------------------------------------------------------------------
# Each tab of the case page is its own URL (/cases/<ref>/<key>/; the case's
# own URL shows the first): the whole page without JavaScript, the panel
# alone for htmx. A new tab is one entry here and one template.


@dataclass(frozen=True)
class Tab:
    key: str  # its URL segment
    label: str
    template: str  # the panel
    load: Callable[..., dict[str, Any]]  # (user, case, params) -> panel context
    count: Callable[[Any, Case], int] | None = None  # shown beside the label


@dataclass(frozen=True)
class TabLink:
    key: str
    label: str
    url: str
    count: int | None
    current: bool


def _timeline_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    corrections = params.get("corrections")
    if corrections is None:
        corrections = selectors.corrections_for(user, case)
    return {
        "timeline": timeline(
            user, case, corrections, page=params.get("page"), size=params.get("size")
        )
    }


def _communications_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    # Each outbound e-mail shows its delivery (its outbox row): joined, not one query each.
    rows = (
        selectors.communications_for(user, case)
        .select_related("outbox")
        .order_by("-occurred_at", "-id")
    )
    may_mail = access.can(user, "send_mail", case) and transitions.runs_now("send_mail", case)
    return {
        "communications": records_page(rows, params.get("cpage")),
        "mail_url": reverse("staff:case_mail", kwargs={"reference": case.reference})
        if may_mail
        else None,
    }


def _evidence_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    rows = selectors.evidence_for(user, case).order_by("-uploaded_at", "-id")
    return {"evidence": records_page(rows, params.get("epage"))}


def _attestation_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"attestation": selectors.attestation_for(user, case)}


def _disputes_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"disputes": list(selectors.disputes_for(user, case))}


def _escalations_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"escalations": list(selectors.escalations_for(user, case))}


def _follow_ups_tab(user, case: Case, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "follow_ups": list(selectors.follow_ups_for(user, case)),
        "follows_up": selectors.followed_up_case(user, case),
        "integrity_alarms": evidence_selectors.open_alarms_for(user, case),
    }


TABS: dict[str, Tab] = {
    t.key: t
    for t in (
        Tab("timeline", "Timeline", "staff/case/_timeline.html", _timeline_tab,
            lambda user, case: selectors.events_for(user, case).count()),
        Tab("communications", "Communications", "staff/case/_communications.html",
            _communications_tab,
            lambda user, case: selectors.communications_for(user, case).count()),
        Tab("evidence", "Evidence", "staff/case/_evidence.html", _evidence_tab,
            lambda user, case: selectors.evidence_for(user, case).count()),
        Tab("attestation", "Deletion attestation", "staff/case/_attestation.html",
            _attestation_tab),
        Tab("disputes", "Disputes", "staff/case/_disputes.html", _disputes_tab,
            lambda user, case: selectors.disputes_for(user, case).count()),
        Tab("escalations", "Escalations", "staff/case/_escalations.html", _escalations_tab,
            lambda user, case: selectors.escalations_for(user, case).count()),
        Tab("follow-ups", "Follow-ups", "staff/case/_follow_ups.html", _follow_ups_tab),
    )
}  # fmt: skip
DEFAULT_TAB = "timeline"


def tab_url(case: Case, key: str) -> str:
    return reverse("staff:case_tab", kwargs={"reference": case.reference, "tab": key})


def tab_links(user, case: Case, current: str) -> list[TabLink]:
    """The tabs with their URLs and counts (one query per counted tab), the
    current one marked."""
    return [
        TabLink(
            key=t.key,
            label=t.label,
            url=tab_url(case, t.key),
            count=t.count(user, case) if t.count else None,
            current=t.key == current,
        )
        for t in TABS.values()
    ]


def tab_panel(user, case: Case, key: str, params: Mapping[str, Any] | None = None) -> dict:
    """What one tab shows (for an htmx tab change: with the tab links, which
    the response swaps out of band)."""
    tab = TABS[key]
    return {
        "case": case,
        "tab": tab,
        "tabs": tab_links(user, case, key),
        **tab.load(user, case, params or {}),
    }


def case_page(user, case: Case, *, tab: str = DEFAULT_TAB, params=None) -> dict:
    """Everything the case page shows, as template context: the header,
    stage bar, deadlines, actions, the tab links and the one tab ``tab``
    (its records one page at a time)."""
    params = dict(params or {})
    corrections = selectors.corrections_for(user, case)
    params["corrections"] = corrections
    by_original: dict[int, list[int]] = defaultdict(list)
    for seq, target in corrections:
        by_original[target].append(seq)
    return {
        "stages": stage_bar(case, selectors.stage_events_for(user, case), by_original),
        "deadlines": deadlines(case, now()),
        "actions": action_links(user, case),
        "integrity_alarms": evidence_selectors.open_alarms_for(user, case),  # the header
        "timeline_url": tab_url(case, "timeline"),
        **tab_panel(user, case, tab, params),
    }
