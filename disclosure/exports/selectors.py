"""Reads of exports, always through the access module."""

from django.db.models import QuerySet

from disclosure.cases import access
from disclosure.cases.models import Case

from .models import Export


def exports_for(user, case: Case) -> QuerySet[Export]:
    """The exports of ``case`` (newest first, with who asked) when ``user``
    may export it; none otherwise."""
    rows = Export.objects.filter(case=case).select_related("requested_by", "case")
    return rows if access.can(user, access.Action.EXPORT, case) else rows.none()


def export_for(user, case: Case, export_id: int) -> Export | None:
    """One export of ``case`` that ``user`` may see, or None (answer 404)."""
    return exports_for(user, case).filter(pk=export_id).first()
