"""The case filters both list interfaces offer (staff list, API), as plain
queryset functions: one rule each, whatever the FilterSet that calls it."""

from datetime import datetime

from django.db import connection
from django.db.models import Exists, OuterRef, QuerySet, TextField
from django.db.models.functions import Cast

from disclosure.affected.models import Dispute

from .deadlines import overdue_by_column
from .models import Case


def with_category(cases: QuerySet[Case], category: str) -> QuerySet[Case]:
    """The cases whose data categories include ``category``."""
    if connection.vendor == "postgresql":
        return cases.filter(data_categories__contains=[category])
    # SQLite keeps the list as JSON text: match the quoted value.
    return cases.alias(categories_text=Cast("data_categories", TextField())).filter(
        categories_text__contains=f'"{category}"'
    )


def overdue(cases: QuerySet[Case], *, at: datetime, yes: bool) -> QuerySet[Case]:
    """The cases with (``yes``) or without a deadline past at ``at``."""
    late = overdue_by_column(at)
    return cases.filter(late) if yes else cases.exclude(late)


def disputed(cases: QuerySet[Case], *, yes: bool) -> QuerySet[Case]:
    """The cases with (``yes``) or without a dispute."""
    any_dispute = Exists(Dispute.objects.filter(case=OuterRef("pk")))
    return cases.filter(any_dispute if yes else ~any_dispute)
