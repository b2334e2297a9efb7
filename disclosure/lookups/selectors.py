"""Reads of a user's domain verifications (for the portal and the API)."""

from django.db.models import QuerySet

from disclosure.accounts.models import User
from disclosure.core.timeutils import now

from .models import DomainVerification


def verified_domains(user: User) -> QuerySet[DomainVerification]:
    """The user's live verifications, by domain (the newest per domain first)."""
    return DomainVerification.objects.filter(
        user=user, verified_at__isnull=False, valid_until__gt=now()
    ).order_by("domain", "-verified_at", "-id")


def pending_verifications(user: User) -> QuerySet[DomainVerification]:
    """The user's challenges that may still be met, newest first."""
    return DomainVerification.objects.filter(
        user=user, verified_at__isnull=True, superseded_at__isnull=True, pending_until__gt=now()
    ).order_by("-created_at", "-id")
