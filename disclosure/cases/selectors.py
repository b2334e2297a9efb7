"""Reads of cases, always through the access module, with their prefetching."""

from django.db.models import Count, Q, QuerySet

from disclosure.comms.models import Communication, Direction
from disclosure.evidence.models import EvidenceFile
from disclosure.ledger.models import CaseEvent

from . import access
from .models import Case
from .stages import Stage
from .visibility import VENDOR_EVENT_KEYS


def case_list(user) -> QuerySet[Case]:
    """The cases ``user`` may see, with what a list row shows and what
    ``access.available_actions`` reads (the deletion attestation), in one query."""
    return access.visible_cases(user).select_related(
        "vendor", "assignee", "policy", "deletion_attestation"
    )


def cases_per_stage(user) -> list[tuple[str, str, int]]:
    """(stage, label, number of cases) for every stage, in stage order, over
    the cases ``user`` may see: one query."""
    counts = dict(
        access.visible_cases(user).order_by().values_list("stage").annotate(n=Count("id"))
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
    """The case's ledger as ``user`` may read it: vendors see only the event
    kinds the visibility declaration shares, and never internal events."""
    rows = CaseEvent.objects.filter(case=case).order_by("seq")
    return _readable(
        user, case, rows, internal=Q(internal=True) | ~Q(kind__in=list(VENDOR_EVENT_KEYS))
    )


def communications_for(user, case: Case) -> QuerySet[Communication]:
    """The case's communications as ``user`` may read them, with attachments
    (vendors never see internal notes)."""
    rows = (
        Communication.objects.filter(case=case)
        .prefetch_related("attachments")
        .select_related("logged_by")
    )
    return _readable(user, case, rows, internal=Q(direction=Direction.INTERNAL))


def evidence_for(user, case: Case) -> QuerySet[EvidenceFile]:
    """The case's evidence files as ``user`` may list them (vendors never see
    files attached to internal notes only)."""
    rows = EvidenceFile.objects.filter(case=case).select_related("uploaded_by")
    return _readable(user, case, rows, internal=Q(internal=True))
