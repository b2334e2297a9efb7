"""The disclosure terms a case runs under (cases.terms, services.policy_terms):
recorded when its policy is set, changed on every open case by a policy
edit (with an event each), kept by closed cases; legacy cases get theirs
through migration 0006 (issue 15, finding 7)."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from disclosure.cases import services, vendor_view
from disclosure.cases.models import Case, DisclosurePolicy
from disclosure.cases.policies import case_due_dates
from disclosure.cases.stages import Stage
from disclosure.cases.state import case_state, state_digest
from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.ledger.chain import GENESIS, compute_hash, event_body
from disclosure.ledger.models import CaseEvent
from tests.factories import capture, make_case
from tests.ledger.tampering import run_verify, sql

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, tzinfo=UTC)
NOTIFIED = START + timedelta(hours=1)
EXPOSURE_30 = {
    "days_to_acknowledge": 2,
    "days_to_secure": 3,
    "days_to_publish": 30,
    "grace_days": 0,
    "business_days": False,
}
STANDARD_90 = {
    "days_to_acknowledge": 7,
    "days_to_secure": 90,
    "days_to_publish": 90,
    "grace_days": 14,
    "business_days": False,
}


def row_terms(case: Case) -> dict:
    row = Case.objects.values(
        "terms_days_to_acknowledge", "terms_days_to_secure", "terms_days_to_publish",
        "terms_grace_days", "terms_business_days",
    ).get(pk=case.pk)  # fmt: skip
    return {k.removeprefix("terms_"): v for k, v in row.items()}


def last_event(case: Case) -> CaseEvent:
    return CaseEvent.objects.filter(case=case).order_by("-seq").first()


@pytest.fixture
def tight():
    return DisclosurePolicy.objects.create(
        name="Tight", days_to_acknowledge=1, days_to_secure=2, days_to_publish=10
    )


def test_opening_records_the_policy_terms_in_the_case_and_its_ledger(analyst, vendor):
    exposure = DisclosurePolicy.objects.get(name="Exposure 30")
    case = make_case(Stage.FOUND, actor=analyst, vendor=vendor, start=START, policy=exposure)
    assert row_terms(case) == EXPOSURE_30
    opened = case.events.get(seq=1)
    assert opened.kind == "case_opened"
    assert opened.payload["terms"] == EXPOSURE_30


def test_a_follow_up_runs_under_the_parents_policy_terms(analyst, vendor):
    parent = make_case(Stage.SECURED, actor=analyst, vendor=vendor, start=START)
    follow_up = services.open_follow_up(
        actor=analyst, case=parent, found_at=START + timedelta(days=1),
        how_found="Re-scan", exposure_evidence=[capture(b"again")],
    )  # fmt: skip
    assert row_terms(follow_up) == STANDARD_90
    assert follow_up.events.get(seq=1).payload["terms"] == STANDARD_90


def test_changing_a_case_policy_records_the_new_terms(analyst, lead, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START)
    exposure = DisclosurePolicy.objects.get(name="Exposure 30")
    services.update_details(actor=lead, case=case, changes={"policy": exposure})
    assert row_terms(case) == EXPOSURE_30
    event = last_event(case)
    assert event.kind == "details_updated" and not event.internal
    assert event.payload["terms"] == {"from": STANDARD_90, "to": EXPOSURE_30}
    case = Case.objects.get(pk=case.pk)
    assert case_due_dates(case).secure == datetime(2026, 3, 5, 10, tzinfo=UTC)
    assert run_verify()[0] == 0


def test_editing_a_policy_changes_each_open_case_with_an_event(
    admin_user, analyst, lead, vendor, tight
):
    notified = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START,
                         policy=tight)  # fmt: skip
    found = make_case(Stage.FOUND, actor=analyst, vendor=vendor, start=START, policy=tight,
                      exposure_evidence=[capture(b"2")])  # fmt: skip
    closed = make_case(Stage.CLOSED, actor=analyst, lead=lead, vendor=vendor, start=START,
                       policy=tight, exposure_evidence=[capture(b"3")])  # fmt: skip
    other = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START,
                      exposure_evidence=[capture(b"4")])  # fmt: skip
    heads = {c.pk: Case.objects.get(pk=c.pk).ledger_seq for c in (notified, found, closed, other)}

    services.edit_policy(actor=admin_user, policy=tight, changes={"days_to_secure": 5})

    old = {"days_to_acknowledge": 1, "days_to_secure": 2, "days_to_publish": 10,
           "grace_days": 0, "business_days": False}  # fmt: skip
    new = {**old, "days_to_secure": 5}
    for case in (notified, found):
        event = last_event(case)
        assert event.seq == heads[case.pk] + 1
        assert event.kind == "policy_terms_changed" and not event.internal
        assert event.payload == {
            "policy": {"id": tight.pk, "name": "Tight"},
            "from": old,
            "to": new,
            "changed": ["days_to_secure"],
        }
        assert row_terms(case) == new
    for case in (closed, other):  # a closed case keeps its terms; another policy's cases
        assert Case.objects.get(pk=case.pk).ledger_seq == heads[case.pk]
    assert row_terms(closed) == old
    case = Case.objects.select_related("policy").get(pk=notified.pk)
    assert case_due_dates(case).secure == datetime(2026, 3, 7, 10, tzinfo=UTC)
    # Acknowledge 1 day after the notice is still the next deadline.
    assert case.next_due_at == datetime(2026, 3, 3, 10, tzinfo=UTC)
    code, output = run_verify()
    assert code == 0, output


def test_the_vendor_sees_the_terms_change(admin_user, analyst, vendor, tight):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START,
                     policy=tight)  # fmt: skip
    services.edit_policy(actor=admin_user, policy=tight, changes={"grace_days": 3})
    _page, rows = vendor_view.timeline(case)
    assert rows[0].kind == "policy_terms_changed"
    assert rows[0].payload["changed"] == ["grace_days"]
    assert rows[0].payload["to"]["grace_days"] == 3
    assert rows[0].summary == "Terms of 'Tight': grace 0 → 3 days"


def test_a_name_only_edit_writes_no_event(admin_user, analyst, vendor, tight):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START,
                     policy=tight)  # fmt: skip
    before = Case.objects.get(pk=case.pk).ledger_seq
    services.edit_policy(actor=admin_user, policy=tight, changes={"name": "Tight (renamed)"})
    assert DisclosurePolicy.objects.get(pk=tight.pk).name == "Tight (renamed)"
    assert Case.objects.get(pk=case.pk).ledger_seq == before


@pytest.mark.parametrize("role", ["analyst", "lead", "legal", "vendor_contact"])
def test_only_admins_edit_policies(request, role, tight):
    with pytest.raises(NotPermitted):
        services.edit_policy(
            actor=request.getfixturevalue(role), policy=tight, changes={"days_to_secure": 9}
        )
    assert DisclosurePolicy.objects.get(pk=tight.pk).days_to_secure == 2


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"days_to_secure": -1}, "days_to_secure"),
        ({"days_to_secure": True}, "days_to_secure"),
        ({"days_to_publish": "30"}, "days_to_publish"),
        ({"business_days": 1}, "business_days"),
        ({"name": "Standard 90"}, "name"),
        ({"name": "  "}, "name"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_bad_policy_edits_change_nothing(admin_user, analyst, vendor, tight, changes, field):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START,
                     policy=tight)  # fmt: skip
    before = Case.objects.get(pk=case.pk).ledger_seq
    with pytest.raises(ValidationFailed) as exc:
        services.edit_policy(actor=admin_user, policy=tight, changes={"grace_days": 4, **changes})
    assert exc.value.field == field
    tight.refresh_from_db()
    assert (tight.name, tight.grace_days, tight.days_to_secure) == ("Tight", 0, 2)
    assert Case.objects.get(pk=case.pk).ledger_seq == before


def test_the_admin_edits_a_policy_through_the_service(client, admin_user, analyst, vendor, tight):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START,
                     policy=tight)  # fmt: skip
    client.force_login(admin_user)
    response = client.post(
        f"/admin/cases/disclosurepolicy/{tight.pk}/change/",
        {"name": "Tight", "days_to_acknowledge": 4, "days_to_secure": 5, "days_to_publish": 10,
         "grace_days": 0},
    )  # fmt: skip
    assert response.status_code == 302
    event = last_event(case)
    assert event.kind == "policy_terms_changed"
    assert event.payload["changed"] == ["days_to_acknowledge", "days_to_secure"]
    assert event.actor_snapshot["id"] == admin_user.pk
    assert run_verify()[0] == 0


def _make_legacy(case: Case) -> None:
    """Rewrite ``case`` as the code before recorded terms wrote it: no terms
    in case_opened, none on the row, the last state digest in the old shape."""
    sql(
        "UPDATE cases_case SET terms_days_to_acknowledge = NULL, terms_days_to_secure = NULL, "
        "terms_days_to_publish = NULL, terms_grace_days = NULL, terms_business_days = NULL "
        "WHERE id = %s",
        [case.pk],
    )
    events = list(CaseEvent.objects.filter(case=case).order_by("seq"))
    sql("DELETE FROM ledger_caseevent WHERE case_id = %s", [case.pk])
    case = Case.objects.get(pk=case.pk)
    old_shape = case_state(case)
    del old_shape["terms"]
    prev = GENESIS
    for event in events:
        event.payload.pop("terms", None)
        event.pk, event.prev_hash = None, prev
        if event is events[-1]:
            event.state = state_digest(old_shape)
        body = event_body(
            case_reference=case.reference, seq=event.seq, kind=event.kind,
            occurred_at=event.occurred_at, recorded_at=event.recorded_at,
            actor=event.actor_snapshot, payload=event.payload, internal=event.internal,
            state=event.state, prev_hash=prev,
        )  # fmt: skip
        event.hash = prev = compute_hash(body)
        event.save(force_insert=True)
    Case.objects.filter(pk=case.pk).update(ledger_head=prev)


def test_a_legacy_case_is_reported_and_falls_back_to_its_policy(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START)
    _make_legacy(case)
    code, output = run_verify()
    assert code == 1
    assert "its ledger records no disclosure terms" in output
    legacy = Case.objects.select_related("policy").get(pk=case.pk)
    assert case_due_dates(legacy).secure == datetime(2026, 5, 31, 10, tzinfo=UTC)


def test_migration_0006_records_the_terms_of_legacy_cases(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, start=START)
    tampered = make_case(Stage.FOUND, actor=analyst, vendor=vendor, start=START,
                         exposure_evidence=[capture(b"t")])  # fmt: skip
    _make_legacy(case)
    _make_legacy(tampered)
    sql("UPDATE cases_case SET title = 'forged' WHERE id = %s", [tampered.pk])
    seq = Case.objects.get(pk=case.pk).ledger_seq
    migration = importlib.import_module("disclosure.cases.migrations.0006_case_terms")
    migration.record_terms(apps, None)
    event = last_event(case)
    assert event.seq == seq + 1
    assert event.kind == "policy_terms_changed"
    assert event.actor_snapshot["role"] == "system"
    assert event.payload["from"] is None and event.payload["to"] == STANDARD_90
    assert row_terms(case) == STANDARD_90
    assert row_terms(tampered) == dict.fromkeys(STANDARD_90)  # left alone
    code, output = run_verify()
    assert code == 1  # the tampered case
    assert f"{case.reference}: intact" in output
    assert f"{tampered.reference}: BROKEN" in output
    migration.record_terms(apps, None)  # again: nothing more
    assert last_event(case).seq == seq + 1
