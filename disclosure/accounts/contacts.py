"""Reads about vendor organizations' contacts, invitations and their history
(for the staff UI's organization pages), each one query."""

from django.db.models import Count, Q, QuerySet

from .models import ContactEvent, Invitation, Organization, Role, User


def vendor_organizations_with_counts() -> QuerySet[Organization]:
    """Every vendor organization by name, with ``contact_count`` and
    ``case_count``."""
    return (
        Organization.objects.filter(kind=Organization.Kind.VENDOR)
        .annotate(
            contact_count=Count(
                "memberships",
                filter=Q(memberships__role=Role.VENDOR_CONTACT, memberships__user__is_active=True),
                distinct=True,
            ),
            case_count=Count("cases", distinct=True),
        )
        .order_by("name")
    )


def contacts_of(organization: Organization) -> QuerySet[User]:
    """The active vendor contacts of ``organization``, by username."""
    return User.objects.filter(
        is_active=True,
        memberships__organization=organization,
        memberships__role=Role.VENDOR_CONTACT,
    ).order_by("username")


def invitations_of(organization: Organization, *, limit: int = 100) -> list[Invitation]:
    """The latest invitations to ``organization``, newest first, with who sent them."""
    return list(
        Invitation.objects.filter(organization=organization).select_related(
            "invited_by", "accepted_by"
        )[:limit]
    )


def history_of(organization: Organization, *, limit: int = 200) -> list[ContactEvent]:
    """Who invited, re-invited, accepted or deactivated whom, newest first."""
    return list(
        ContactEvent.objects.filter(organization=organization).select_related("actor", "contact")[
            :limit
        ]
    )
