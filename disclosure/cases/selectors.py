"""Reads of cases, always through the access module, with their prefetching."""

from django.db.models import Prefetch, QuerySet

from disclosure.comms.models import Communication, Direction
from disclosure.evidence.models import EvidenceFile
from disclosure.ledger.models import CaseEvent

from . import access
from .models import Case


def case_list(user) -> QuerySet[Case]:
    """The cases ``user`` may see, with what a list row shows, in one query."""
    return access.visible_cases(user).select_related("vendor", "assignee", "policy")


def case_by_reference(user, reference: str) -> Case | None:
    """The case ``reference`` if ``user`` may see it, else None (answer 404)."""
    return case_list(user).filter(reference=reference).first()


def events_for(user, case: Case) -> QuerySet[CaseEvent]:
    """The case's ledger as ``user`` may read it (vendors never see internal events;
    a user who may not see the case reads nothing)."""
    if not access.can(user, access.Action.VIEW, case):
        return CaseEvent.objects.none()
    events = CaseEvent.objects.filter(case=case).order_by("seq")
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        events = events.filter(internal=False)
    return events


def communications_for(user, case: Case) -> QuerySet[Communication]:
    """The case's communications as ``user`` may read them, with attachments
    (none for a user who may not see the case)."""
    if not access.can(user, access.Action.VIEW, case):
        return Communication.objects.none()
    comms = (
        Communication.objects.filter(case=case)
        .prefetch_related(Prefetch("attachments"))
        .select_related("logged_by")
    )
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        comms = comms.exclude(direction=Direction.INTERNAL)
    return comms


def evidence_for(user, case: Case) -> QuerySet[EvidenceFile]:
    """The case's evidence files as ``user`` may list them (vendors never see
    files attached to internal notes; none for a user who may not see the case)."""
    if not access.can(user, access.Action.VIEW, case):
        return EvidenceFile.objects.none()
    files = EvidenceFile.objects.filter(case=case).select_related("uploaded_by")
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        files = files.filter(internal=False)
    return files
