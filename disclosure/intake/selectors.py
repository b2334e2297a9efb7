"""Reads of scanner findings, through the access module."""

from django.db.models import QuerySet

from disclosure.cases import access

from .models import Finding


def findings_for(user) -> QuerySet[Finding]:
    """The findings whose cases ``user`` may see, with their cases; findings
    are the firm's own tooling, so vendors see none."""
    if not access.can(user, access.Action.OPEN_CASE) and not _is_staff(user):
        return Finding.objects.none()
    return Finding.objects.filter(case__in=access.visible_cases(user)).select_related("case")


def _is_staff(user) -> bool:
    return access.can_use_staff_ui(user)
