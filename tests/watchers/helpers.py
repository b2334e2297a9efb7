"""Cases for the watcher tests: notified at fixed past times, under a policy
whose terms the test states."""

from datetime import UTC, datetime

from disclosure.cases import services
from disclosure.cases.models import DisclosurePolicy
from disclosure.ledger.models import CaseEvent
from disclosure.watchers.models import DeadlineMark
from tests.factories import capture, notify_kwargs

# Monday 1 June 2026, 10:00 UTC; notified on Friday 5 June, 15:00 UTC.
FOUND = datetime(2026, 6, 1, 10, tzinfo=UTC)
NOTIFIED = datetime(2026, 6, 5, 15, tzinfo=UTC)


def policy(name="Tight", *, ack=2, secure=5, publish=10, grace=0, business=False):
    """A new policy with these terms (its name made unique)."""
    return DisclosurePolicy.objects.create(
        name=f"{name} {DisclosurePolicy.objects.count()}",
        days_to_acknowledge=ack,
        days_to_secure=secure,
        days_to_publish=publish,
        grace_days=grace,
        business_days=business,
    )


def notified_case(*, actor, vendor, policy, notified=NOTIFIED, **details):
    """A case found at FOUND and notified at ``notified`` under ``policy``."""
    case = services.open_case(
        actor=actor,
        vendor=vendor,
        title="Exposed bucket",
        asset_provider=details.pop("asset_provider", "aws"),
        asset_kind="s3_bucket",
        asset_identifier="s3://exposed-bucket",
        how_found="Scanner hit",
        found_at=FOUND,
        exposure_evidence=[capture()],
        policy=policy,
        **details,
    )
    if notified is not None:
        case = services.notify_vendor(actor=actor, case=case, **notify_kwargs(notified))
    return case


def marks(case) -> list[tuple]:
    """(deadline, due, step, days before) of ``case``'s marks, in order."""
    return [
        (m.deadline, m.due, m.step, m.days_before)
        for m in DeadlineMark.objects.filter(case=case).order_by("due", "step", "-days_before")
    ]


def watcher_events(case) -> list[tuple]:
    """(kind, payload deadline, days before) of the watcher's events on ``case``."""
    kinds = ("deadline_reminder", "deadline_missed", "vendor_unresponsive")
    return [
        (e.kind, e.payload.get("deadline"), e.payload.get("days_before"))
        for e in CaseEvent.objects.filter(case=case, kind__in=kinds).order_by("seq")
    ]
