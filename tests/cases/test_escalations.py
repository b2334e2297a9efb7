"""Escalations to a CERT, the cloud provider or a regulator."""

from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import Escalation
from disclosure.cases.selectors import events_for
from disclosure.cases.stages import Stage
from disclosure.core.errors import (
    InvalidTimestamp,
    NotPermitted,
    TransitionNotAllowed,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.ledger.models import EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def escalation(**changes):
    return {
        "target": "cert",
        "organization": "CERT-Bund",
        "reason": "No answer from the vendor after three notices.",
        "escalated_at": now() - timedelta(minutes=5),
        "their_reference": "CB-2026-1234",
        **changes,
    }


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def test_lead_escalates_and_the_vendor_does_not_see_it(case, lead, vendor_contact):
    esc = services.escalate(actor=lead, case=case, **escalation())
    assert (esc.target, esc.organization, esc.their_reference) == (
        "cert",
        "CERT-Bund",
        "CB-2026-1234",
    )
    event = case.events.order_by("-seq").first()
    assert event.kind == EventKind.ESCALATED and event.internal
    assert event.payload["escalation_id"] == esc.pk
    assert event not in events_for(vendor_contact, case)
    assert verify_case(case).ok


@pytest.mark.parametrize("fixture", ["analyst", "legal", "vendor_contact"])
def test_only_leads_and_admins_escalate(fixture, request, case):
    with pytest.raises(NotPermitted):
        services.escalate(actor=request.getfixturevalue(fixture), case=case, **escalation())
    assert not Escalation.objects.exists()


def test_not_before_the_vendor_is_notified(analyst, lead, vendor):
    found = make_case(actor=analyst, vendor=vendor)
    with pytest.raises(TransitionNotAllowed):
        services.escalate(actor=lead, case=found, **escalation())


@pytest.mark.parametrize(
    ("changes", "error", "field"),
    [
        ({"target": "press"}, ValidationFailed, "target"),
        ({"organization": " "}, ValidationFailed, "organization"),
        ({"reason": ""}, ValidationFailed, "reason"),
        ({"their_reference": "x" * 201}, ValidationFailed, "their_reference"),
        ({"escalated_at": now() + timedelta(days=1)}, InvalidTimestamp, "occurred_at"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(changes, error, field, case, lead):
    before = case.events.count()
    with pytest.raises(error) as exc:
        services.escalate(actor=lead, case=case, **escalation(**changes))
    assert exc.value.field == field
    assert case.events.count() == before and not Escalation.objects.exists()


def test_escalation_is_not_dated_before_the_notification(case, lead):
    with pytest.raises(InvalidTimestamp, match="when the vendor was notified"):
        services.escalate(
            actor=lead,
            case=case,
            **escalation(escalated_at=case.vendor_notified_at - timedelta(seconds=1)),
        )
