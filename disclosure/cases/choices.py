"""Reads that fill the choices of case forms (the staff UI's, later the
portal's): policies, and the vendor's messages a confirmation may cite."""

from django.db.models import QuerySet

from disclosure.comms.models import Communication, Direction

from .models import Case, DisclosurePolicy
from .selectors import communications_for


def disclosure_policies() -> QuerySet[DisclosurePolicy]:
    """Every disclosure policy, by name (choices for a case's policy)."""
    return DisclosurePolicy.objects.order_by("name")


def inbound_communications(user, case: Case) -> QuerySet[Communication]:
    """The messages from the vendor logged on ``case`` that ``user`` may read,
    newest first (choices for the vendor's confirmation that it is secured);
    none when ``user`` may not see the case."""
    return (
        communications_for(user, case)
        .filter(direction=Direction.INBOUND)
        .order_by("-occurred_at", "-id")
    )
