"""Deadlines of a disclosure policy, counted from the vendor notification.

A case's deadlines are counted from the terms its ledger recorded
(``terms.py``), never from the policy row as it is now: an edit of the
policy moves a case's deadlines only through ``edit_policy``, which records
the new terms on each case it changes.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .models import Case, DisclosurePolicy
from .terms import policy_terms, recorded_terms

# Shipped with the app (the data step of migration cases/0001).
DEFAULT_POLICIES = [
    {
        "name": "Standard 90",
        "description": "Project Zero-like: 90 days to publish, 14 days of grace when a fix "
        "is imminent.",
        "days_to_acknowledge": 7,
        "days_to_secure": 90,
        "days_to_publish": 90,
        "grace_days": 14,
        "business_days": False,
    },
    {
        "name": "CERT/CC 45",
        "description": "CERT/CC-like: publish 45 days after the first notice.",
        "days_to_acknowledge": 7,
        "days_to_secure": 45,
        "days_to_publish": 45,
        "grace_days": 0,
        "business_days": False,
    },
    {
        "name": "Exposure 30",
        "description": "For open data stores: secure within 72 hours, publish after 30 days.",
        "days_to_acknowledge": 2,
        "days_to_secure": 3,
        "days_to_publish": 30,
        "grace_days": 0,
        "business_days": False,
    },
]


def ensure_default_policies(policy_model=DisclosurePolicy) -> None:
    """Create the shipped policies that are missing; leave edited ones alone."""
    for values in DEFAULT_POLICIES:
        policy_model.objects.get_or_create(name=values["name"], defaults=values)


@dataclass(frozen=True)
class DueDates:
    acknowledge: datetime
    secure: datetime
    publish: datetime
    publish_with_grace: datetime


def add_days(start: datetime, days: int, *, business_days: bool) -> datetime:
    """``start`` plus ``days`` calendar days, or business days (Monday to Friday)."""
    if not business_days:
        return start + timedelta(days=days)
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def due_dates(terms: Mapping[str, Any] | DisclosurePolicy, notified_at: datetime) -> DueDates:
    """The deadlines that ``terms`` (a terms mapping, or a policy's terms as
    they are now) give a notification at ``notified_at``."""
    if not isinstance(terms, Mapping):
        terms = policy_terms(terms)
    bd = terms["business_days"]
    publish = add_days(notified_at, terms["days_to_publish"], business_days=bd)
    return DueDates(
        acknowledge=add_days(notified_at, terms["days_to_acknowledge"], business_days=bd),
        secure=add_days(notified_at, terms["days_to_secure"], business_days=bd),
        publish=publish,
        publish_with_grace=add_days(publish, terms["grace_days"], business_days=bd),
    )


def case_terms(case: Case) -> dict[str, Any]:
    """The terms ``case`` runs under: those its ledger recorded. A case whose
    ledger recorded none (written before terms were kept, and not migrated)
    falls back to its policy as it is now; verify_ledger reports such a case,
    since nothing vouches for its deadlines."""
    return recorded_terms(case) or policy_terms(case.policy)


def case_due_dates(case: Case) -> DueDates | None:
    """The case's deadlines (from its recorded terms), or None before the
    vendor is notified."""
    if case.vendor_notified_at is None:
        return None
    return due_dates(case_terms(case), case.vendor_notified_at)


def is_unresponsive(case: Case, at: datetime) -> bool:
    """Whether, at time ``at``, the vendor's acknowledgement was overdue: the
    policy's deadline had passed and no acknowledgement had come by ``at``."""
    due = case_due_dates(case)
    if due is None or at <= due.acknowledge:
        return False
    return case.vendor_acknowledged_at is None or case.vendor_acknowledged_at > at
