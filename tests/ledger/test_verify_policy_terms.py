"""A case's disclosure terms are vouched by its ledger (issue 15, finding 7):
a policy edited behind the application's back neither moves a case's
deadlines nor passes verify_ledger, and a case row's own terms are checked
by the row replay like its stage and times."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from disclosure.cases.models import Case
from disclosure.cases.policies import case_due_dates
from disclosure.cases.stages import Stage
from disclosure.demo.seed import seed_demo
from tests.factories import make_case
from tests.ledger.tampering import run_verify, sql

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
NOTIFIED = START + timedelta(hours=1)  # make_case: one hour per stage


@pytest.fixture
def notified(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START)


def test_a_policy_edited_in_sql_is_named_by_verify_ledger(notified):
    sql("UPDATE cases_disclosurepolicy SET days_to_secure = 200 WHERE name = 'Standard 90'")
    code, output = run_verify()
    assert code == 1
    assert f"{notified.reference}: BROKEN" in output
    assert "policy 'Standard 90'" in output
    assert "days_to_secure 200" in output
    assert "recorded 90" in output


def test_a_policy_edited_in_sql_does_not_move_the_deadlines(notified):
    sql("UPDATE cases_disclosurepolicy SET days_to_secure = 200 WHERE name = 'Standard 90'")
    case = Case.objects.select_related("policy").get(pk=notified.pk)
    assert case.policy.days_to_secure == 200
    assert case_due_dates(case).secure == datetime(2026, 5, 31, 10, tzinfo=UTC)  # 90 days


def test_a_closed_case_keeps_its_terms_and_is_not_flagged(analyst, lead, vendor):
    closed = make_case(Stage.CLOSED, actor=analyst, lead=lead, vendor=vendor, start=START)
    sql("UPDATE cases_disclosurepolicy SET days_to_secure = 200 WHERE name = 'Standard 90'")
    code, output = run_verify()
    assert code == 0, output
    assert f"{closed.reference}: intact" in output
    case = Case.objects.select_related("policy").get(pk=closed.pk)
    assert case_due_dates(case).secure == datetime(2026, 5, 31, 10, tzinfo=UTC)


def test_case_terms_edited_in_sql_are_caught_by_the_row_replay(notified):
    sql("UPDATE cases_case SET terms_days_to_secure = 200 WHERE id = %s", [notified.pk])
    code, output = run_verify()
    assert code == 1
    assert f"{notified.reference}: BROKEN" in output
    assert "the case row differs from its ledger: terms.days_to_secure" in output


@pytest.mark.postgres
def test_on_the_demo_a_policy_edited_in_sql_fails_verify_ledger():
    seed_demo()
    out = StringIO()
    call_command("verify_ledger", stdout=out)  # intact: returns without SystemExit
    sql("UPDATE cases_disclosurepolicy SET days_to_secure = 200")
    code, output = run_verify()
    assert code == 1
    assert "BROKEN" in output
    assert "policy 'Standard 90' now says days_to_secure 200" in output
