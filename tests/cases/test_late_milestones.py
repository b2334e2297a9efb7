"""Milestones an early publication skipped (secured, data deleted), recorded
late without moving the case back."""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import TransitionNotAllowed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import advance, deletion_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage


# --- milestones recorded late, after an early publication -------------------


def test_secured_and_deleted_can_follow_an_overridden_publication(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    published_at = now() - timedelta(hours=3)
    case = advance(case, S.PUBLISHED, actor=lead, at=published_at, justification=JUSTIFICATION)
    secured_at = now() - timedelta(hours=2)
    case = services.secure(
        actor=analyst, case=case, occurred_at=secured_at, retest_result="403 on anonymous listing"
    )
    assert case.stage == S.PUBLISHED and case.secured_at == secured_at
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.payload["milestone"] == S.SECURED and event.payload["late"] is True
    assert (event.payload["from"], event.payload["to"]) == (S.PUBLISHED, S.PUBLISHED)

    deleted_at = now() - timedelta(hours=1)
    case = services.record_deletion(
        actor=analyst, case=case, **deletion_kwargs(analyst, lead, deleted_at)
    )
    assert case.stage == S.PUBLISHED and case.data_deleted_at == deleted_at
    with pytest.raises(TransitionNotAllowed, match="was recorded already"):
        services.secure(actor=analyst, case=case, occurred_at=now(), retest_result="again")
    assert verify_case(case).ok


def test_deletion_after_publication_needs_secured_first(lead, analyst, vendor):
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = advance(
        case, S.PUBLISHED, actor=lead, at=now() - timedelta(hours=2), justification=JUSTIFICATION
    )
    before = state(case)
    with pytest.raises(TransitionNotAllowed, match="secured before recording deletion"):
        services.record_deletion(
            actor=analyst, case=case, **deletion_kwargs(analyst, lead, now() - timedelta(hours=1))
        )
    assert state(case) == before


def test_deletion_can_follow_publication_that_skipped_it(lead, analyst, vendor):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    case = advance(case, S.PUBLISHED, actor=lead, at=now() - timedelta(hours=2))
    case = services.record_deletion(
        actor=analyst, case=case, **deletion_kwargs(analyst, lead, now() - timedelta(hours=1))
    )
    assert case.stage == S.PUBLISHED and case.data_deleted_at is not None


def test_late_milestone_is_not_dated_before_the_stage_it_follows(lead, analyst, vendor):
    from disclosure.core.errors import InvalidTimestamp

    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = advance(
        case, S.PUBLISHED, actor=lead, at=now() - timedelta(minutes=5), justification=JUSTIFICATION
    )
    with pytest.raises(InvalidTimestamp, match="before"):
        services.secure(
            actor=analyst,
            case=case,
            occurred_at=case.vendor_notified_at - timedelta(seconds=1),
            retest_result="403",
        )
