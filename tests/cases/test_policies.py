"""Disclosure policies: the shipped ones and the deadlines they give."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.models import DisclosurePolicy
from disclosure.cases.policies import (
    DEFAULT_POLICIES,
    add_days,
    case_due_dates,
    due_dates,
    ensure_default_policies,
    is_unresponsive,
)
from disclosure.cases.stages import Stage
from disclosure.ledger.models import CaseEvent, EventKind
from tests.factories import make_case

pytestmark = pytest.mark.django_db

FRIDAY = datetime(2026, 1, 9, 17, 30, tzinfo=UTC)
SATURDAY = FRIDAY + timedelta(days=1)


def values(policy: DisclosurePolicy) -> dict:
    return {
        "acknowledge": policy.days_to_acknowledge,
        "secure": policy.days_to_secure,
        "publish": policy.days_to_publish,
        "grace": policy.grace_days,
        "business_days": policy.business_days,
    }


def test_the_three_shipped_policies_exist():
    """Created by the migrations, before any test data."""
    policies = {p.name: values(p) for p in DisclosurePolicy.objects.all()}
    assert policies == {
        "Standard 90": {
            "acknowledge": 7,
            "secure": 90,
            "publish": 90,
            "grace": 14,
            "business_days": False,
        },
        "CERT/CC 45": {
            "acknowledge": 7,
            "secure": 45,
            "publish": 45,
            "grace": 0,
            "business_days": False,
        },
        "Exposure 30": {
            "acknowledge": 2,
            "secure": 3,  # 72 hours
            "publish": 30,
            "grace": 0,
            "business_days": False,
        },
    }
    assert all(p.description for p in DisclosurePolicy.objects.all())


def test_shipped_policies_are_sensible():
    for p in DisclosurePolicy.objects.all():
        assert 0 < p.days_to_acknowledge <= p.days_to_secure <= p.days_to_publish, p.name


def test_ensure_default_policies_is_idempotent_and_keeps_edits():
    DisclosurePolicy.objects.filter(name="CERT/CC 45").update(grace_days=5)
    DisclosurePolicy.objects.filter(name="Exposure 30").delete()
    ensure_default_policies()
    ensure_default_policies()
    assert DisclosurePolicy.objects.count() == len(DEFAULT_POLICIES) == 3
    assert DisclosurePolicy.objects.get(name="CERT/CC 45").grace_days == 5
    assert DisclosurePolicy.objects.get(name="Exposure 30").days_to_secure == 3


def test_new_cases_get_standard_90_unless_told_otherwise(lead, vendor):
    assert make_case(Stage.FOUND, actor=lead, vendor=vendor).policy.name == "Standard 90"
    exposure = DisclosurePolicy.objects.get(name="Exposure 30")
    assert make_case(Stage.FOUND, actor=lead, vendor=vendor, policy=exposure).policy == exposure


def test_no_due_dates_before_the_vendor_is_notified(lead, vendor):
    case = make_case(Stage.FOUND, actor=lead, vendor=vendor)
    assert case_due_dates(case) is None
    assert is_unresponsive(case, case.found_at + timedelta(days=365)) is False


@pytest.mark.parametrize("name", ["Standard 90", "CERT/CC 45", "Exposure 30"])
def test_due_dates_count_from_the_vendor_notification(name, lead, vendor):
    policy = DisclosurePolicy.objects.get(name=name)
    case = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor, policy=policy)
    notified = case.vendor_notified_at
    due = case_due_dates(case)
    assert due.acknowledge == notified + timedelta(days=policy.days_to_acknowledge)
    assert due.secure == notified + timedelta(days=policy.days_to_secure)
    assert due.publish == notified + timedelta(days=policy.days_to_publish)
    assert due.publish_with_grace == due.publish + timedelta(days=policy.grace_days)


def test_exposure_30_wants_the_asset_secured_within_72_hours():
    policy = DisclosurePolicy.objects.get(name="Exposure 30")
    due = due_dates(policy, FRIDAY)
    assert due.secure - FRIDAY == timedelta(hours=72)


def test_correcting_the_notification_time_moves_the_deadlines(lead, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    old = case_due_dates(case)
    notice = CaseEvent.objects.get(case=case, kind=EventKind.STAGE_CHANGED)
    services.correct_event(
        actor=lead,
        case=case,
        seq=notice.seq,
        reason="Sent the evening before",
        occurred_at=case.vendor_notified_at - timedelta(minutes=30),
    )
    case.refresh_from_db()
    assert case_due_dates(case).acknowledge == old.acknowledge - timedelta(minutes=30)


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (FRIDAY, 0, FRIDAY),
        (FRIDAY, 1, FRIDAY + timedelta(days=3)),  # Monday
        (FRIDAY, 5, FRIDAY + timedelta(days=7)),  # next Friday
        (FRIDAY, 6, FRIDAY + timedelta(days=10)),  # the Monday after
        (SATURDAY, 1, SATURDAY + timedelta(days=2)),  # Monday
        (FRIDAY - timedelta(days=4), 3, FRIDAY - timedelta(days=1)),  # Mon + 3 = Thu
    ],
    ids=["zero", "fri+1", "fri+5", "fri+6", "sat+1", "mon+3"],
)
def test_business_days_skip_weekends(start, days, expected):
    result = add_days(start, days, business_days=True)
    assert result == expected
    assert result.weekday() < 5 or days == 0
    assert result.time() == start.time()


def test_calendar_days_do_not_skip_weekends():
    assert add_days(FRIDAY, 1, business_days=False) == SATURDAY


def test_business_day_policy_deadlines():
    policy = DisclosurePolicy(
        name="Business 5",
        days_to_acknowledge=2,
        days_to_secure=5,
        days_to_publish=10,
        grace_days=1,
        business_days=True,
    )
    due = due_dates(policy, FRIDAY)
    assert due.acknowledge == FRIDAY + timedelta(days=4)  # Tuesday
    assert due.secure == FRIDAY + timedelta(days=7)  # Friday
    assert due.publish == FRIDAY + timedelta(days=14)  # Friday after
    assert due.publish_with_grace == FRIDAY + timedelta(days=17)  # Monday, not Saturday


def test_is_unresponsive_after_the_acknowledgement_deadline(lead, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    due = case_due_dates(case).acknowledge
    assert is_unresponsive(case, due) is False
    assert is_unresponsive(case, due + timedelta(seconds=1)) is True
    case = services.acknowledge(actor=lead, case=case, occurred_at=case.vendor_notified_at)
    assert is_unresponsive(case, due + timedelta(days=30)) is False


def test_a_late_acknowledgement_ends_unresponsiveness_only_from_when_it_came(analyst, vendor):
    case = make_case(
        Stage.VENDOR_NOTIFIED,
        actor=analyst,
        vendor=vendor,
        start=datetime.now(UTC) - timedelta(days=40),
    )
    due = case_due_dates(case).acknowledge
    late_ack = due + timedelta(days=3)
    case = services.acknowledge(actor=analyst, case=case, occurred_at=late_ack)
    assert not is_unresponsive(case, due - timedelta(hours=1))
    assert is_unresponsive(case, due + timedelta(days=1))  # overdue then
    assert not is_unresponsive(case, late_ack + timedelta(seconds=1))
