"""Reads of the evidence integrity alarms (evidence.integrity) for the staff
UI: only the firm's staff see them, on the cases they may see."""

from django.db.models import QuerySet

from disclosure.cases import access
from disclosure.cases.models import Case

from .models import IntegrityAlarm


def open_alarms_for(user, case: Case) -> list[IntegrityAlarm]:
    """The open integrity alarms of ``case`` with their files, oldest first
    (none unless ``user`` may see the case's internal records): one query."""
    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        return []
    return list(
        IntegrityAlarm.objects.filter(case=case, resolved_at=None).select_related("evidence")
    )


def open_alarms(user) -> QuerySet[IntegrityAlarm]:
    """Every open integrity alarm on the cases ``user`` may see, oldest
    first, with its case and file (none for anyone but staff)."""
    condition = access.visible_case_condition(user, via="case__")
    if condition is None or not access.can_use_staff_ui(user):
        return IntegrityAlarm.objects.none()
    return (
        IntegrityAlarm.objects.filter(condition, resolved_at=None)
        .select_related("case", "evidence")
        .order_by("detected_at", "id")
    )


def retention_panel(user, case: Case) -> dict | None:
    """What the staff case page says about how long ``case``'s evidence
    content is kept (evidence.retention): the period in force and whether it
    is the deployment's default, when the purge is due (None while the case
    is open or on hold), and whether ``user`` may change the period. None
    for anyone who may not see the case's internal records. No query."""
    from . import retention

    if not access.can(user, access.Action.VIEW_INTERNAL, case):
        return None
    return {
        "days": retention.retention_days(case),
        "is_default": case.retention_days is None,
        "due_at": retention.purge_due_at(case),
        "legal_hold": case.legal_hold,
        "closed": case.closed_at is not None,
        "can_change": retention.may_set_retention(user, case),
    }
