"""Corrections of times keep every rule the original obeyed (issue 5's
findings: bounds after a late milestone, the reference year, escalations)."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.core.errors import InvalidTimestamp, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import advance, capture, make_case

pytestmark = pytest.mark.django_db

S = Stage
HOUR = timedelta(hours=1)


def stage_event(case, milestone) -> CaseEvent:
    kind = EventKind.CASE_OPENED if milestone == S.FOUND else EventKind.STAGE_CHANGED
    events = CaseEvent.objects.filter(case=case, kind=kind).order_by("seq")
    return next(e for e in events if milestone == S.FOUND or e.payload["milestone"] == milestone)


@pytest.fixture
def published_early(lead, analyst, vendor):
    """Notified, published with an override, then secured late (after publishing)."""
    start = now() - 10 * HOUR
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor, start=start)
    case = advance(case, S.PUBLISHED, actor=lead, at=start + 3 * HOUR, justification=JUSTIFICATION)
    case = services.secure(
        actor=analyst, case=case, occurred_at=start + 5 * HOUR, retest_result="403 now"
    )
    return case


def test_publication_before_a_late_milestone_can_still_be_corrected(published_early, lead):
    case = published_early
    published = stage_event(case, S.PUBLISHED)
    new = case.published_at - 30 * timedelta(minutes=1)  # still after the notification
    services.correct_event(actor=lead, case=case, seq=published.seq, reason="typo", occurred_at=new)
    case.refresh_from_db()
    assert case.published_at == new
    assert verify_case(case).ok


def test_a_late_milestone_is_bound_by_what_was_recorded_before_it(published_early, lead):
    case = published_early
    secured = stage_event(case, S.SECURED)
    # Before the publication is fine: it was recorded late, not secured late.
    before_publication = case.published_at - HOUR
    services.correct_event(
        actor=lead, case=case, seq=secured.seq, reason="retest log", occurred_at=before_publication
    )
    case.refresh_from_db()
    assert case.secured_at == before_publication
    snapshot = state(case)
    with pytest.raises(InvalidTimestamp, match="cannot be before"):
        services.correct_event(
            actor=lead, case=case, seq=secured.seq, reason="x",
            occurred_at=case.vendor_notified_at - timedelta(seconds=1),
        )  # fmt: skip
    assert state(case) == snapshot


def test_a_discovery_cannot_move_into_another_year_than_its_reference(lead, analyst, vendor):
    found = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    case = services.open_case(
        actor=analyst, vendor=vendor, title="New Year", asset_provider="aws",
        asset_kind="s3_bucket", asset_identifier="s3://ny", how_found="scan",
        found_at=found, exposure_evidence=[capture()],
    )  # fmt: skip
    assert case.reference.startswith("DSC-2026-")
    opened = stage_event(case, S.FOUND)
    snapshot = state(case)
    with pytest.raises(InvalidTimestamp, match=r"carries the year 2026 .* 2025 contradicts"):
        services.correct_event(
            actor=lead, case=case, seq=opened.seq, reason="clock",
            occurred_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
        )  # fmt: skip
    assert state(case) == snapshot
    services.correct_event(
        actor=lead, case=case, seq=opened.seq, reason="clock",
        occurred_at=datetime(2026, 1, 1, 0, 5, tzinfo=UTC),
    )  # fmt: skip
    case.refresh_from_db()
    assert case.found_at == datetime(2026, 1, 1, 0, 5, tzinfo=UTC)


def test_the_notification_cannot_move_after_an_escalation(lead, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    escalated_at = case.vendor_notified_at + timedelta(minutes=10)
    services.escalate(
        actor=lead, case=case, target="cert", organization="CERT-EU", reason="silence",
        escalated_at=escalated_at,
    )  # fmt: skip
    case.refresh_from_db()
    notified = stage_event(case, S.VENDOR_NOTIFIED)
    snapshot = state(case)
    with pytest.raises(InvalidTimestamp, match="the first escalation"):
        services.correct_event(
            actor=lead, case=case, seq=notified.seq, reason="x",
            occurred_at=escalated_at + timedelta(minutes=1),
        )  # fmt: skip
    assert state(case) == snapshot


def test_the_discovery_cannot_move_after_the_first_communication(lead, vendor):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    noted_at = case.found_at + timedelta(minutes=10)
    services.log_communication(
        actor=lead, case=case, direction="internal", channel="other", sender="lead",
        recipients=[], subject="", body="first look", occurred_at=noted_at,
    )  # fmt: skip
    case.refresh_from_db()
    opened = stage_event(case, S.FOUND)
    with pytest.raises(InvalidTimestamp, match="the first communication"):
        services.correct_event(
            actor=lead, case=case, seq=opened.seq, reason="x",
            occurred_at=noted_at + timedelta(seconds=1),
        )  # fmt: skip


def test_open_case_no_longer_takes_follows_up(lead, analyst, vendor):
    """A follow-up goes through open_follow_up and its rules (parent secured,
    found after it); open_case cannot be used to skip them."""
    parent = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)  # not secured
    with pytest.raises(ValidationFailed) as exc:
        services.open_case(
            actor=analyst, vendor=vendor, title="t", asset_provider="aws",
            asset_kind="s3_bucket", asset_identifier="s3://x", how_found="scan",
            found_at=now() - HOUR, exposure_evidence=[capture()], follows_up=parent,
        )  # fmt: skip
    assert exc.value.field == "follows_up"
    assert Case.objects.count() == 1
