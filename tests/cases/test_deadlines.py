"""The SQL form of the deadlines (filters, sorting) agrees with the Python
form (``policies.case_due_dates``) for every case, business days included."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.cases import deadlines, services
from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.cases.policies import case_due_dates
from tests.factories import capture, make_case

pytestmark = pytest.mark.django_db


def test_pending_deadlines_by_hand(analyst, lead, vendor):
    policy = DisclosurePolicy.objects.get(name="Exposure 30")
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)  # a Monday
    case = make_case("vendor_notified", actor=analyst, vendor=vendor, start=start, policy=policy)
    notified = start + timedelta(hours=1)
    assert [(d.kind, d.due) for d in deadlines.pending_deadlines(case)] == [
        ("acknowledge", notified + timedelta(days=2)),
        ("secure", notified + timedelta(days=3)),
        ("publish", notified + timedelta(days=30)),
    ]
    services.acknowledge(actor=analyst, case=case, occurred_at=notified + timedelta(hours=1))
    case = Case.objects.get(pk=case.pk)
    assert deadlines.next_deadline(case).kind == "secure"
    closed = make_case(
        "closed", actor=analyst, lead=lead, vendor=vendor, exposure_evidence=[capture(b"z")]
    )
    assert deadlines.pending_deadlines(closed) == []
    found = make_case("found", actor=analyst, vendor=vendor, exposure_evidence=[capture(b"y")])
    assert deadlines.next_deadline(found) is None


def test_sql_agrees_with_python_on_every_weekday(analyst, lead, vendor):
    business = DisclosurePolicy.objects.create(
        name="Business 5", days_to_acknowledge=1, days_to_secure=3, days_to_publish=10,
        business_days=True,
    )  # fmt: skip
    calendar = DisclosurePolicy.objects.get(name="Standard 90")
    monday = datetime(2026, 9, 7, 22, 30, tzinfo=UTC)
    stages = ["found", "vendor_notified", "secured", "published", "closed"]
    for day in range(7):
        for policy in (business, calendar):
            make_case(
                stages[day % len(stages)], actor=analyst, vendor=vendor, policy=policy,
                start=monday + timedelta(days=day), lead=lead,
                exposure_evidence=[capture(f"{day} {policy.pk}".encode())],
            )  # fmt: skip
    policies = list(DisclosurePolicy.objects.all())
    qs = deadlines.with_deadline_columns(Case.objects.select_related("policy"))
    rows = list(qs.annotate(next_due=deadlines.next_due_expression(policies)))
    assert len(rows) == 14
    for case in rows:
        expected = deadlines.next_deadline(case)
        assert case.next_due == (expected.due if expected else None), case.reference
    for at in [monday + timedelta(days=d, hours=h) for d in range(0, 40, 3) for h in (0, 13)]:
        late = set(qs.filter(deadlines.overdue_q(policies, at)).values_list("pk", flat=True))
        expected = {
            c.pk for c in rows if any(d.overdue(at) for d in deadlines.pending_deadlines(c))
        }
        assert late == expected, at


def test_business_day_deadline_skips_the_weekend(analyst, vendor):
    business = DisclosurePolicy.objects.create(
        name="Business 1", days_to_acknowledge=1, days_to_secure=2, days_to_publish=5,
        business_days=True,
    )  # fmt: skip
    friday = datetime(2026, 9, 11, 10, tzinfo=UTC)
    case = make_case("vendor_notified", actor=analyst, vendor=vendor, policy=business,
                     start=friday - timedelta(hours=1))  # fmt: skip
    # Notified Friday 10:00: acknowledge by Monday 10:00.
    assert case_due_dates(case).acknowledge == datetime(2026, 9, 14, 10, tzinfo=UTC)
    qs = deadlines.with_deadline_columns(Case.objects.all())
    sunday = datetime(2026, 9, 13, 12, tzinfo=UTC)
    assert not qs.filter(deadlines.overdue_q([business], sunday)).exists()
    tuesday = datetime(2026, 9, 15, 9, tzinfo=UTC)
    assert qs.filter(deadlines.overdue_q([business], tuesday)).exists()
