"""The deadline pass: what it records when, across business days, time
zones, policy changes and corrections; once only; what it tells whom."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from disclosure.accounts.models import User
from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.cases.visibility import vendor_may_see_event
from disclosure.comms.models import Notice, OutboxMessage, UndeliverableAddress
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from disclosure.watchers import tasks
from disclosure.watchers.deadlines import reminder_offsets, run_deadline_pass
from disclosure.watchers.models import DeadlineWatch
from tests.factories import MembershipFactory
from tests.watchers.helpers import NOTIFIED, marks, notified_case, policy, watcher_events

H = timedelta(hours=1)
D = timedelta(days=1)
# NOTIFIED is Friday 5 June 2026, 15:00 UTC.
ACK = datetime(2026, 6, 7, 15, tzinfo=UTC)  # 2 calendar days
SECURE = datetime(2026, 6, 10, 15, tzinfo=UTC)  # 5 calendar days
PUBLISH = datetime(2026, 6, 15, 15, tzinfo=UTC)  # 10 calendar days

# (pass at, marks written by that pass) for a policy of 2/5/10 calendar days
# and reminders 3 and 1 days before, passes run in this order.
CALENDAR_TABLE = [
    (NOTIFIED + H, [("acknowledge", ACK, "reminder", 3)]),  # 2 days left: inside "3 days"
    (NOTIFIED + 2 * H, []),
    (ACK - D + H, [("acknowledge", ACK, "reminder", 1)]),
    (ACK, [("secure", SECURE, "reminder", 3)]),  # the acknowledgement: due, not yet past
    (ACK + H, [("acknowledge", ACK, "missed", 0), ("acknowledge", ACK, "unresponsive", 0)]),
    (SECURE - D, [("secure", SECURE, "reminder", 1)]),
    (SECURE + H, [("secure", SECURE, "missed", 0)]),
    (PUBLISH - 3 * D + H, [("publish", PUBLISH, "reminder", 3)]),
    (PUBLISH + 10 * D, [("publish", PUBLISH, "missed", 0)]),  # no late reminder
    (PUBLISH + 11 * D, []),
]


def test_calendar_day_table(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    seen: list[tuple] = []
    for at, expected in CALENDAR_TABLE:
        run_deadline_pass(at)
        now_marks = marks(case)
        assert sorted(set(now_marks) - set(seen)) == sorted(expected), at
        seen = now_marks
    assert [k for k, _d, _b in watcher_events(case)] == [
        "deadline_reminder", "deadline_reminder", "deadline_reminder", "deadline_missed",
        "vendor_unresponsive", "deadline_reminder", "deadline_missed", "deadline_reminder",
        "deadline_missed",
    ]  # fmt: skip
    assert verify_case(case).ok


def test_business_days_count_weekdays_and_reminders_count_calendar_days(analyst, vendor):
    """Notified on a Friday: 2 business days end on Tuesday, 5 on the next
    Friday; a reminder '1 day before' is 24 hours before."""
    case = notified_case(
        actor=analyst, vendor=vendor, policy=policy("Business", ack=2, secure=5, business=True)
    )
    tuesday = datetime(2026, 6, 9, 15, tzinfo=UTC)
    friday = datetime(2026, 6, 12, 15, tzinfo=UTC)
    run_deadline_pass(datetime(2026, 6, 6, 12, tzinfo=UTC))  # Saturday
    assert marks(case) == []  # Tuesday - 3 days is Saturday 15:00
    run_deadline_pass(datetime(2026, 6, 8, 15, 30, tzinfo=UTC))  # Monday
    assert marks(case) == [("acknowledge", tuesday, "reminder", 1)]
    run_deadline_pass(datetime(2026, 6, 9, 16, tzinfo=UTC))  # Tuesday, an hour late
    assert set(marks(case)) == {
        ("acknowledge", tuesday, "reminder", 1),
        ("acknowledge", tuesday, "missed", 0),
        ("acknowledge", tuesday, "unresponsive", 0),
        ("secure", friday, "reminder", 3),
    }
    event = CaseEvent.objects.get(case=case, kind="vendor_unresponsive")
    assert event.payload["silence"] == "2 business days"
    assert event.occurred_at == tuesday


def test_time_zone_moves_nothing_but_the_text(analyst, lead, vendor):
    """Deadlines are instants: a case in Auckland falls due at the same
    moment; the notice gives the time in UTC and in the case's zone."""
    case = notified_case(
        actor=analyst, vendor=vendor, policy=policy(), time_zone="Pacific/Auckland"
    )
    run_deadline_pass(ACK + H)
    assert ("acknowledge", ACK, "missed", 0) in marks(case)
    notice = Notice.objects.get(user=lead, case=case, subject__contains="Deadline missed")
    assert "2026-06-07 15:00 UTC (2026-06-08 03:00 Pacific/Auckland)" in notice.body


def test_policy_change_moves_the_deadline_and_it_is_reminded_again(analyst, vendor):
    admin = MembershipFactory(role="admin").user
    terms = policy(secure=20, publish=60)
    case = notified_case(actor=analyst, vendor=vendor, policy=terms)
    old_secure = NOTIFIED + 20 * D
    services.acknowledge(actor=analyst, case=case, occurred_at=NOTIFIED + H)
    run_deadline_pass(old_secure - 3 * D + H)
    assert marks(case) == [("secure", old_secure, "reminder", 3)]
    # The policy is tightened: the secure deadline is now past.
    services.edit_policy(actor=admin, policy=terms, changes={"days_to_secure": 10})
    new_secure = NOTIFIED + 10 * D
    run_deadline_pass(old_secure - 3 * D + 2 * H)
    assert marks(case) == [
        ("secure", new_secure, "missed", 0),
        ("secure", old_secure, "reminder", 3),
    ]
    # Loosened again: the old date comes back, its reminder is not repeated.
    services.edit_policy(actor=admin, policy=terms, changes={"days_to_secure": 20})
    assert run_deadline_pass(old_secure - 3 * D + 3 * H).as_dict()["reminders"] == 0
    assert verify_case(case).ok


def test_corrected_notification_moves_every_deadline(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    run_deadline_pass(ACK + H)
    assert ("acknowledge", ACK, "missed", 0) in marks(case)
    notified = CaseEvent.objects.get(case=case, kind="stage_changed", payload__to="vendor_notified")
    # The notice went out two days later than first recorded.
    services.correct_event(
        actor=analyst, case=case, seq=notified.seq, reason="Sent later",
        occurred_at=NOTIFIED + 2 * D,
    )  # fmt: skip
    result = run_deadline_pass(ACK + 2 * H)  # the new acknowledgement is in 2 days
    assert (result.missed, result.reminders, result.unresponsive) == (0, 1, 0)
    assert ("acknowledge", ACK + 2 * D, "reminder", 3) in marks(case)
    result = run_deadline_pass(ACK + 2 * D + H)
    assert (result.missed, result.reminders, result.unresponsive) == (1, 1, 1)
    assert ("secure", SECURE + 2 * D, "reminder", 3) in marks(case)
    assert verify_case(case).ok


def test_each_mark_once_whatever_the_number_of_passes(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    first = run_deadline_pass(PUBLISH + H)
    assert first.as_dict() == {
        "considered": 1, "reminders": 0, "missed": 3, "unresponsive": 1, "mismatched": 0,
    }  # fmt: skip
    events = case.events.count()
    for _ in range(3):
        assert run_deadline_pass(PUBLISH + 2 * H).as_dict()["missed"] == 0
    DeadlineWatch.objects.all().delete()  # a cache only: the marks still hold
    again = run_deadline_pass(PUBLISH + 3 * H)
    assert (again.considered, again.missed, again.unresponsive) == (1, 0, 0)
    assert case.events.count() == events


def test_a_pass_with_nothing_new_is_one_query(analyst, vendor, django_assert_num_queries):
    for _ in range(3):
        notified_case(actor=analyst, vendor=vendor, policy=policy("P" + str(_)))
    run_deadline_pass(PUBLISH + H)
    with django_assert_num_queries(1):
        assert run_deadline_pass(PUBLISH + 2 * H).considered == 0


def test_queries_do_not_grow_with_the_cases(analyst, vendor):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count(n, name):
        terms = policy(name)
        for _ in range(n):
            notified_case(actor=analyst, vendor=vendor, policy=terms)
        with CaptureQueriesContext(connection) as queries:
            result = run_deadline_pass(PUBLISH + H)
        assert result.missed == 3 * n
        return len(queries)

    assert count(2, "Two") == count(12, "Twelve")


def test_a_changed_case_is_looked_at_again(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy(ack=30, secure=40, publish=60))
    assert run_deadline_pass(NOTIFIED + H).considered == 0  # nothing within 3 days
    run_deadline_pass(NOTIFIED + 27 * D + H)
    assert marks(case) == [("acknowledge", NOTIFIED + 30 * D, "reminder", 3)]
    assert run_deadline_pass(NOTIFIED + 27 * D + 2 * H).considered == 0
    services.update_details(actor=analyst, case=case, changes={"title": "Renamed"})
    assert run_deadline_pass(NOTIFIED + 27 * D + 3 * H).considered == 1  # its ledger moved
    services.acknowledge(actor=analyst, case=case, occurred_at=NOTIFIED + 27 * D)
    assert run_deadline_pass(NOTIFIED + 27 * D + 4 * H).considered == 0  # next due in 13 days


def test_closed_and_unnotified_cases_get_nothing(analyst, lead, vendor):
    notified_case(actor=analyst, vendor=vendor, policy=policy(), notified=None)
    closed = notified_case(actor=analyst, vendor=vendor, policy=policy("Other"))
    services.close_case(actor=lead, case=closed, reason="invalid", occurred_at=NOTIFIED + H)
    assert run_deadline_pass(PUBLISH + H).as_dict() == {
        "considered": 0, "reminders": 0, "missed": 0, "unresponsive": 0, "mismatched": 0,
    }  # fmt: skip


def test_met_deadlines_are_not_missed(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    services.acknowledge(actor=analyst, case=case, occurred_at=NOTIFIED + H)
    services.secure(actor=analyst, case=case, occurred_at=NOTIFIED + 2 * H, retest_result="403")
    run_deadline_pass(PUBLISH + H)
    assert marks(case) == [("publish", PUBLISH, "missed", 0)]


def test_the_events_are_internal_and_by_the_system(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    run_deadline_pass(ACK + H)
    events = CaseEvent.objects.filter(case=case, kind__startswith="deadline")
    assert events.count() == 2  # the acknowledgement missed, the secure deadline in 3 days
    for event in [*events, CaseEvent.objects.get(case=case, kind="vendor_unresponsive")]:
        assert event.internal is True
        assert event.actor_id is None and event.actor_snapshot["role"] == "system"
        assert not vendor_may_see_event(event.kind, event.internal)
    missed = CaseEvent.objects.get(case=case, kind="deadline_missed")
    assert missed.occurred_at == ACK
    assert missed.payload == {"deadline": "acknowledge", "due": "2026-06-07T15:00:00.000000Z"}


@pytest.mark.parametrize(
    ("provider", "categories", "secured", "target"),
    [
        ("aws", ["pii"], False, "cloud_provider"),
        ("azure", [], False, "cloud_provider"),
        ("self_hosted", ["pii"], False, "cert"),
        ("aws", ["pii"], True, "regulator"),
        ("other", ["source_code"], True, "cert"),
    ],
)
def test_suggested_escalation(provider, categories, secured, target):
    from disclosure.watchers.deadlines import suggest_escalation

    case = Case(
        asset_provider=provider, data_categories=categories,
        secured_at=NOTIFIED if secured else None,
    )  # fmt: skip
    assert suggest_escalation(case)["target"] == target


def test_unresponsive_event_and_notice_suggest_an_escalation(analyst, vendor):
    assignee = MembershipFactory(role="analyst").user
    case = notified_case(
        actor=analyst, vendor=vendor, policy=policy(), asset_provider="self_hosted",
        assignee=assignee,
    )  # fmt: skip
    run_deadline_pass(ACK + H)
    event = CaseEvent.objects.get(case=case, kind="vendor_unresponsive")
    assert event.payload["suggested_escalation"]["target"] == "cert"
    assert event.payload["silence"] == "2 days"
    assert event.payload["notified_at"] == "2026-06-05T15:00:00.000000Z"
    notice = Notice.objects.get(user=assignee, subject__contains="unresponsive")
    assert notice.subject == f"[{case.reference}] Vendor unresponsive — escalate to CERT / CSIRT?"
    assert "Suggested escalation: CERT / CSIRT." in notice.body


def test_the_assignee_is_told_in_one_mail(analyst, lead, vendor):
    assignee = MembershipFactory(role="analyst").user
    case = notified_case(actor=analyst, vendor=vendor, policy=policy(), assignee=assignee)
    before = OutboxMessage.objects.count()
    run_deadline_pass(ACK + H)  # missed, unresponsive, a reminder: three notices
    assert Notice.objects.filter(user=assignee, case=case).count() == 3
    assert not Notice.objects.filter(user=lead, case=case).exists()
    mail = OutboxMessage.objects.order_by("-id")[: OutboxMessage.objects.count() - before]
    assert [m.recipients for m in mail] == [[assignee.email]]
    assert "3 deadline notices on 1 of your cases" in bytes(mail[0].raw).decode()


def test_without_an_assignee_the_watchers_or_the_leads_are_told(analyst, lead, vendor):
    watcher = MembershipFactory(role="analyst").user
    watcher.mail_delivery = User.MailDelivery.DIGEST
    watcher.save()
    watched = notified_case(actor=analyst, vendor=vendor, policy=policy())
    watched.watchers.add(watcher)
    unwatched = notified_case(actor=analyst, vendor=vendor, policy=policy("Other"))
    before = OutboxMessage.objects.count()
    run_deadline_pass(NOTIFIED + H)
    notice = Notice.objects.get(case=watched)
    assert (notice.user, notice.immediate) == (watcher, False)  # in their digest
    assert Notice.objects.get(case=unwatched).user == lead
    assert OutboxMessage.objects.count() - before == 1  # the lead's; the watcher has a digest


def test_an_assignee_whose_address_bounced_is_passed_over_for_the_leads(analyst, lead, vendor):
    assignee = MembershipFactory(role="analyst").user
    UndeliverableAddress.objects.create(
        address=assignee.email.upper(), since=now(), reason="5.1.1 unknown"
    )
    case = notified_case(actor=analyst, vendor=vendor, policy=policy(), assignee=assignee)
    run_deadline_pass(NOTIFIED + H)
    assert not Notice.objects.filter(user=assignee).exists()
    assert Notice.objects.get(case=case).user == lead


def test_reminder_days_setting(settings, analyst, vendor):
    settings.DISCLOSURE_REMINDER_DAYS = " 7, 1,7 "
    assert reminder_offsets() == (7, 1)
    settings.DISCLOSURE_REMINDER_DAYS = ""
    assert reminder_offsets() == ()
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    run_deadline_pass(ACK - H)
    assert marks(case) == []
    for bad in ("3,x", "0", "-1", "400", "1.5"):
        settings.DISCLOSURE_REMINDER_DAYS = bad
        with pytest.raises(ImproperlyConfigured):
            reminder_offsets()


def test_changed_offsets_are_applied_at_once(settings, analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy(ack=30, secure=40, publish=60))
    run_deadline_pass(NOTIFIED + 20 * D)
    assert marks(case) == []
    settings.DISCLOSURE_REMINDER_DAYS = "14"
    run_deadline_pass(NOTIFIED + 20 * D + H)
    assert marks(case) == [("acknowledge", NOTIFIED + 30 * D, "reminder", 14)]


def test_a_row_changed_behind_the_ledger_is_left_alone(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    good = notified_case(actor=analyst, vendor=vendor, policy=policy("Other"))
    Case.objects.filter(pk=case.pk).update(title="Changed in SQL")
    result = run_deadline_pass(ACK + H)
    assert (result.mismatched, result.considered, result.missed) == (1, 1, 1)
    assert marks(case) == []
    assert len(marks(good)) == 3


def test_command_and_task(analyst, vendor, capsys):
    notified_case(actor=analyst, vendor=vendor, policy=policy(ack=10_000, secure=10_000,
                                                              publish=10_000))  # fmt: skip
    call_command("run_deadlines")
    assert capsys.readouterr().out.strip() == (
        "0 case(s) evaluated: 0 reminder(s), 0 missed deadline(s), 0 unresponsive vendor(s)"
    )
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())  # all past by now
    assert tasks.run_deadline_pass.delay().get() == {
        "considered": 1, "reminders": 0, "missed": 3, "unresponsive": 1, "mismatched": 0,
    }  # fmt: skip
    assert len(marks(case)) == 4


def test_command_fails_on_a_mismatched_case(analyst, vendor):
    case = notified_case(actor=analyst, vendor=vendor, policy=policy())
    Case.objects.filter(pk=case.pk).update(title="Changed in SQL")
    with pytest.raises(SystemExit) as exit_:
        call_command("run_deadlines")
    assert exit_.value.code == 1
