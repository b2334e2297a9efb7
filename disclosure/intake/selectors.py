"""Reads of scanner findings, through the access module."""

from django.db.models import QuerySet

from disclosure.cases import access

from .models import Finding


def findings_for(user) -> QuerySet[Finding]:
    """The findings whose cases ``user`` may see, with their cases. Findings
    are the firm's own tooling: staff see them, vendor contacts none."""
    if not access.can_use_staff_ui(user):
        return Finding.objects.none()
    return Finding.objects.filter(case__in=access.visible_cases(user)).select_related("case")
