"""The stored next deadline (``Case.next_due_at``) and its SQL form agree
with the Python form (``policies.case_due_dates``) for every case, business
days included, and the services keep it current."""

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
    rows = list(Case.objects.select_related("policy"))
    assert len(rows) == 14
    python = {}
    for case in rows:
        expected = deadlines.next_deadline(case)
        python[case.pk] = expected.due if expected else None
    # Written by the services...
    assert {c.pk: c.next_due_at for c in rows} == python
    # Notified (days 1 and 6), secured (2) and published (3: never acknowledged), x2.
    assert sum(due is not None for due in python.values()) == 8
    # ...and by the SQL form, from scratch.
    Case.objects.update(next_due_at=None)
    assert deadlines.refresh_next_due(Case.objects.all()) == 14
    assert dict(Case.objects.values_list("pk", "next_due_at")) == python
    for at in [monday + timedelta(days=d, hours=h) for d in range(0, 40, 3) for h in (0, 13)]:
        late = set(
            Case.objects.filter(deadlines.overdue_by_column(at)).values_list("pk", flat=True)
        )
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
    assert Case.objects.get(pk=case.pk).next_due_at == datetime(2026, 9, 14, 10, tzinfo=UTC)
    sunday = datetime(2026, 9, 13, 12, tzinfo=UTC)
    assert not Case.objects.filter(deadlines.overdue_by_column(sunday)).exists()
    tuesday = datetime(2026, 9, 15, 9, tzinfo=UTC)
    assert Case.objects.filter(deadlines.overdue_by_column(tuesday)).exists()


def stored(case: Case):
    return Case.objects.values_list("next_due_at", flat=True).get(pk=case.pk)


def test_each_service_keeps_the_stored_next_deadline(analyst, lead, vendor):
    """Exposure 30 (2 days to acknowledge, 3 to secure, 30 to publish), by hand."""
    policy = DisclosurePolicy.objects.get(name="Exposure 30")
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    case = make_case("found", actor=analyst, vendor=vendor, start=start, policy=policy)
    assert stored(case) is None  # no deadline before the vendor is told
    case = make_case("vendor_notified", actor=analyst, vendor=vendor, start=start, policy=policy)
    notified = start + timedelta(hours=1)
    assert stored(case) == notified + timedelta(days=2)
    services.acknowledge(actor=analyst, case=case, occurred_at=notified + timedelta(hours=2))
    assert stored(case) == notified + timedelta(days=3)
    # Correcting the notification's time moves every deadline with it.
    event = case.events.get(kind="stage_changed", payload__to="vendor_notified")
    services.correct_event(
        actor=lead, case=case, seq=event.seq, occurred_at=notified - timedelta(minutes=30),
        reason="The notice went out half an hour earlier (mail server log).",
    )  # fmt: skip
    assert stored(case) == notified - timedelta(minutes=30) + timedelta(days=3)
    # Another policy: the deadlines follow it.
    standard = DisclosurePolicy.objects.get(name="Standard 90")
    services.update_details(
        actor=lead, case=Case.objects.get(pk=case.pk), changes={"policy": standard}
    )
    secure_days = timedelta(days=standard.days_to_secure)
    assert stored(case) == notified - timedelta(minutes=30) + secure_days


def test_a_refused_service_leaves_the_stored_deadline(analyst, vendor):
    from disclosure.core.errors import DomainError

    policy = DisclosurePolicy.objects.get(name="Exposure 30")
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    case = make_case("vendor_notified", actor=analyst, vendor=vendor, start=start, policy=policy)
    before = stored(case)
    with pytest.raises(DomainError):  # before the notification: refused
        services.acknowledge(actor=analyst, case=case, occurred_at=start - timedelta(days=1))
    assert stored(case) == before == start + timedelta(hours=1, days=2)


def test_editing_a_policy_moves_its_cases_deadlines(client, admin_user, analyst, vendor):
    client.force_login(admin_user)
    policy = DisclosurePolicy.objects.create(
        name="Tight", days_to_acknowledge=1, days_to_secure=2, days_to_publish=10
    )
    start = datetime(2026, 3, 2, 9, tzinfo=UTC)
    case = make_case("vendor_notified", actor=analyst, vendor=vendor, start=start, policy=policy)
    assert stored(case) == start + timedelta(hours=1, days=1)
    response = client.post(
        f"/admin/cases/disclosurepolicy/{policy.pk}/change/",
        {"name": "Tight", "days_to_acknowledge": 4, "days_to_secure": 5, "days_to_publish": 10,
         "grace_days": 0},
    )  # fmt: skip
    assert response.status_code == 302, response.content[:2000]
    assert stored(case) == start + timedelta(hours=1, days=4)
