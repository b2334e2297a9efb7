"""Reads of cases, always through the access module, with their prefetching."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from disclosure.affected.models import Dispute
from disclosure.comms.models import Communication
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger.models import CaseEvent, EventKind

from . import access, vendor_view
from .models import Case, Escalation
from .stages import Stage


def _open_disputes(**conditions) -> Coalesce:
    """How many of the case's disputes are open (and meet ``conditions``)."""
    rows = (
        Dispute.objects.filter(case=OuterRef("pk"), status=Dispute.Status.OPEN, **conditions)
        .order_by()
        .values("case")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(rows), 0)


def case_list(user) -> QuerySet[Case]:
    """The cases ``user`` may see, with what a list row shows and what
    ``access.available_actions`` reads (the deletion attestation; the open
    and unanswered dispute counts, ``transitions.OPEN_DISPUTES``), in one query."""
    return (
        access.visible_cases(user)
        .select_related("vendor", "assignee", "policy", "deletion_attestation")
        .annotate(
            open_dispute_count=_open_disputes(),
            unanswered_dispute_count=_open_disputes(answered_at__isnull=True),
        )
    )


def cases_per_stage(user) -> list[tuple[str, str, int]]:
    """(stage, label, number of cases) for every stage, in stage order, over
    the cases ``user`` may see: one query."""
    counts = dict(
        # COUNT(*): PostgreSQL can answer from the (stage, found_at) index alone.
        access.visible_cases(user).order_by().values_list("stage").annotate(n=Count("*"))
    )
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Stage]


def case_by_reference(user, reference: str) -> Case | None:
    """The case ``reference`` if ``user`` may see it, else None (answer 404)."""
    return case_list(user).filter(reference=reference).first()


def _readable(user, case: Case, rows: QuerySet, *, internal: Q) -> QuerySet:
    """``rows`` of ``case`` as ``user`` may read them: none when the case is
    not visible to them, and without the ``internal`` ones for vendors."""
    if not access.can(user, access.Action.VIEW, case):
        return rows.none()
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        rows = rows.exclude(internal)
    return rows


def events_for(user, case: Case) -> QuerySet[CaseEvent]:
    """The case's ledger as ``user`` may read it: staff all of it; a vendor
    contact the events the vendor projection shows (``vendor_view.shown``:
    declared kinds, never internal, nothing from before the case came to
    their vendor, no follow-up they do not see), annotated with
    ``vendor_view.SCOPE_COLUMNS`` for ``vendor_view.project_event``."""
    rows = CaseEvent.objects.filter(case=case).order_by("seq")
    if not access.can(user, access.Action.VIEW, case):
        return rows.none()
    if access.can(user, access.Action.VIEW_INTERNAL, case):
        return rows
    return vendor_view.with_vendor_scope(rows, case=case).filter(vendor_view.SHOWN)


def events_by_reference(user, reference: str) -> QuerySet[CaseEvent]:
    """``events_for`` the case ``reference`` without loading the case: the
    visibility rule is part of the one query. Empty both when the case has no
    event the user may read and when they may not see it (or it does not
    exist): looking the case up through ``access`` tells the two apart, and
    is needed only for an empty page."""
    condition = access.visible_case_condition(user, via="case__")
    if condition is None:
        return CaseEvent.objects.none()
    rows = CaseEvent.objects.filter(condition, case__reference=reference).order_by("seq")
    if not access.can_use_staff_ui(user):
        # What the vendor projection shows; read SCOPE_COLUMNS with the row.
        rows = vendor_view.with_vendor_scope(rows, reference=reference)
        rows = rows.filter(vendor_view.SHOWN)
    return rows


def communications_for(user, case: Case) -> QuerySet[Communication]:
    """The case's communications as ``user`` may read them, with attachments
    (vendors never see internal notes, nor what was logged while the case
    belonged to another vendor: ``vendor_view.vendor_communications``)."""
    rows = (
        Communication.objects.filter(case=case)
        .prefetch_related("attachments")
        .select_related("logged_by")
    )
    return _readable(user, case, rows, internal=~vendor_view.vendor_communications(case))


def evidence_for(user, case: Case) -> QuerySet[EvidenceFile]:
    """The case's evidence files as ``user`` may list them (vendors never see
    files attached to internal notes only, nor files attached while the case
    belonged to another vendor and not shared since:
    ``vendor_view.vendor_evidence``)."""
    rows = EvidenceFile.objects.filter(case=case).select_related("uploaded_by")
    return _readable(user, case, rows, internal=~vendor_view.vendor_evidence(case))


def stage_events_for(user, case: Case) -> list[CaseEvent]:
    """The events that record the case's milestones (``case_opened`` for
    found, ``stage_changed`` with ``payload["milestone"]``) and its overrides
    (``override_granted``, internal), as ``user`` may read them, in seq
    order: one query."""
    kinds = [EventKind.CASE_OPENED, EventKind.STAGE_CHANGED, EventKind.OVERRIDE_GRANTED]
    return list(events_for(user, case).filter(kind__in=kinds))


def corrections_for(user, case: Case) -> list[tuple[int, int]]:
    """(correction seq, corrected seq) of every correction of ``case`` that
    ``user`` may read, in seq order: one query."""
    rows = events_for(user, case).filter(kind=EventKind.CORRECTION)
    pairs = rows.values_list("seq", "payload")
    return [(seq, payload.get("corrects_seq")) for seq, payload in pairs]


def attestation_for(user, case: Case) -> DeletionAttestation | None:
    """The case's deletion attestation with its people and evidence files
    (two queries), or None when there is none or ``user`` may not see the case."""
    if not access.can(user, access.Action.VIEW, case):
        return None
    return (
        DeletionAttestation.objects.filter(case=case)
        .select_related("performed_by", "verified_by", "countersigned_by")
        .prefetch_related("evidence")
        .first()
    )


def disputes_for(user, case: Case) -> QuerySet[Dispute]:
    """The case's disputes, both positions and provenance, with who filed them."""
    rows = Dispute.objects.filter(case=case).select_related("filed_by", "answered_by", "settled_by")
    return rows if access.can(user, access.Action.VIEW, case) else rows.none()


def escalations_for(user, case: Case) -> QuerySet[Escalation]:
    """The case's escalations with who escalated; internal to the firm, so
    none for vendors."""
    rows = Escalation.objects.filter(case=case).select_related("escalated_by")
    return rows if access.can(user, access.Action.VIEW_INTERNAL, case) else rows.none()


def follow_ups_for(user, case: Case) -> QuerySet[Case]:
    """The visible cases opened as follow-ups of ``case`` (re-exposures), in
    case-list order: one query."""
    if not access.can(user, access.Action.VIEW, case):
        return Case.objects.none()
    return case_list(user).filter(follows_up=case)


def followed_up_case(user, case: Case) -> Case | None:
    """The visible case that ``case`` follows up, or None."""
    if case.follows_up_id is None:
        return None
    return case_list(user).filter(pk=case.follows_up_id).first()
