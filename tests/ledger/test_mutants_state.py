"""The replay of a case's events (cases/state.py), event kind by event kind,
with the states written out by hand; and, through the real services, every
kind of event the replay must follow (follow-up, detail edits, closing,
acknowledgement, time corrections) verifies, while a row changed behind it
is named. Written to kill the mutants of cases/state.py that survived."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.cases.state import apply_event, empty_state, replay, state_differences
from disclosure.core.timeutils import now
from disclosure.ledger.verify import verify_case
from tests.factories import capture, make_case
from tests.ledger.tampering import sql

T0 = "2024-03-01T10:00:00.000000Z"
T1 = "2024-03-02T11:30:00.000000Z"

EMPTY = {
    "stage": None,
    "times": {
        "found_at": None,
        "vendor_notified_at": None,
        "secured_at": None,
        "data_deleted_at": None,
        "published_at": None,
        "closed_at": None,
        "vendor_acknowledged_at": None,
    },
    "legal_hold": False,
    "close_reason": "",
    "publication_url": "",
    "publication_title": "",
    "follows_up": None,
    "details": {},
    "terms": None,
}


def opened(**payload) -> dict:
    state = empty_state()
    apply_event(state, "case_opened", T0, {"details": {"title": "Bucket"}, **payload})
    return state


def test_the_empty_state():
    assert empty_state() == EMPTY


def test_case_opened_sets_stage_time_details_and_follow_up():
    state = empty_state()
    payload = {
        "details": {"title": "Bucket", "vendor": {"id": 7, "name": "Contoso"}, "policy": None},
        "follows_up": {"id": 41, "reference": "DSC-2024-0001"},
    }
    apply_event(state, "case_opened", T0, payload)
    assert state == {
        **EMPTY,
        "stage": "found",
        "times": {**EMPTY["times"], "found_at": T0},
        "follows_up": 41,
        "details": {"title": "Bucket", "vendor": 7, "policy": None},
    }


def test_case_opened_without_follow_up():
    assert opened()["follows_up"] is None
    assert opened(follows_up=None)["follows_up"] is None


def test_internal_details_and_details_updated():
    state = opened()
    apply_event(state, "internal_details", T1, {"details": {"assignee": {"id": 3}, "tlp": "red"}})
    assert state["details"] == {"title": "Bucket", "assignee": 3, "tlp": "red"}
    apply_event(
        state,
        "details_updated",
        T1,
        {
            "changes": {
                "title": {"from": "Bucket", "to": "Open bucket"},
                "vendor": {"from": {"id": 7}, "to": {"id": 9, "name": "Fabrikam"}},
                "assignee": {"from": {"id": 3}, "to": None},
            }
        },
    )
    assert state["details"] == {"title": "Open bucket", "assignee": None, "tlp": "red", "vendor": 9}
    assert state["times"] == {**EMPTY["times"], "found_at": T0}  # details are not times


def test_stage_changes_publication_and_close_reason():
    state = opened()
    apply_event(
        state, "stage_changed", T1, {"milestone": "vendor_notified", "to": "vendor_notified"}
    )
    assert (state["stage"], state["times"]["vendor_notified_at"]) == ("vendor_notified", T1)
    apply_event(
        state,
        "stage_changed",
        T1,
        {"milestone": "published", "to": "published", "url": "https://x.test/a", "title": "A"},
    )
    assert (state["publication_url"], state["publication_title"]) == ("https://x.test/a", "A")
    apply_event(
        state, "stage_changed", T1, {"milestone": "closed", "to": "closed", "reason": "invalid"}
    )
    assert state["stage"] == "closed"
    assert state["close_reason"] == "invalid"
    assert state["times"]["closed_at"] == T1


def test_vendor_acknowledged_sets_only_its_time():
    state = opened()
    apply_event(state, "vendor_acknowledged", T1, {"note": "thanks"})
    assert state == {
        **opened(),
        "times": {**EMPTY["times"], "found_at": T0, "vendor_acknowledged_at": T1},
    }


def test_legal_hold_on_and_off():
    state = opened()
    apply_event(state, "legal_hold_changed", T1, {"legal_hold": True})
    assert state["legal_hold"] is True
    apply_event(state, "legal_hold_changed", T1, {"legal_hold": False})
    assert state["legal_hold"] is False


def test_a_correction_moves_the_time_it_names():
    state = opened()
    change = {"field": "found_at", "from": T0, "to": "2024-02-28T09:00:00.000000Z"}
    apply_event(state, "correction", T1, {"reason": "typo", "occurred_at": change})
    assert state == {**opened(), "times": {**EMPTY["times"], "found_at": change["to"]}}


def test_a_correction_without_a_time_changes_nothing():
    state = opened()
    apply_event(state, "correction", T1, {"reason": "typo", "statement": "wrong words"})
    apply_event(state, "correction", T1, {"reason": "typo", "occurred_at": None})
    assert state == opened()


def test_other_kinds_with_an_occurred_at_payload_change_nothing():
    # Only a correction moves a time; another event's payload may well carry
    # an "occurred_at" of its own.
    state = opened()
    change = {"field": "found_at", "to": T1}
    apply_event(state, "communication_logged", T1, {"occurred_at": change})
    apply_event(state, "details_updated", T1, {"changes": {}, "occurred_at": change})
    assert state == opened()


def test_a_correction_of_an_unknown_time_is_refused():
    with pytest.raises(ValueError, match="a correction names an unknown time 'stage'"):
        apply_event(opened(), "correction", T1, {"occurred_at": {"field": "stage", "to": T1}})


def test_replay_takes_datetimes():
    at = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)
    state = replay([("case_opened", at, {"details": {"title": "Bucket"}})])
    assert state == opened()


def test_state_differences_names_fields_on_either_side():
    row = {**opened(), "details": {"title": "Bucket", "summary": "extra"}}
    assert state_differences(row, opened()) == ["summary"]
    assert state_differences(opened(), row) == ["summary"]
    moved = {**opened(), "follows_up": 5, "close_reason": "invalid"}
    assert state_differences(moved, opened()) == ["close_reason", "follows_up"]


# Through the services: each kind of event replays to the row it wrote.

HOUR = timedelta(hours=1)


@pytest.fixture
def case(db, analyst, lead, vendor):
    return make_case(Stage.SECURED, actor=analyst, lead=lead, vendor=vendor)


def _set(case, column, value):
    sql(f"UPDATE cases_case SET {column} = %s WHERE id = %s", [value, case.pk])


@pytest.mark.django_db
def test_a_follow_up_case_replays_its_link(case, analyst, other_vendor):
    follow = services.open_follow_up(
        actor=analyst, case=case, found_at=now() - HOUR, how_found="Rescan",
        exposure_evidence=[capture(b"again")],
    )  # fmt: skip
    assert follow.follows_up_id == case.pk
    assert verify_case(follow).ok and verify_case(case).ok
    _set(follow, "follows_up_id", None)
    assert verify_case(follow).problem == "the case row differs from its ledger: follows_up"


@pytest.mark.django_db
def test_details_updated_replays(case, analyst):
    services.update_details(actor=analyst, case=case, changes={"title": "Renamed bucket"})
    assert verify_case(case).ok
    _set(case, "title", "Exposed bucket")  # back to the value before the edit
    assert verify_case(case).problem == "the case row differs from its ledger: title"


@pytest.mark.django_db
def test_close_reason_replays(analyst, lead, vendor):
    case = make_case(Stage.CLOSED, actor=analyst, lead=lead, vendor=vendor)
    assert case.close_reason == "published" and verify_case(case).ok
    _set(case, "close_reason", "duplicate")
    assert verify_case(case).problem == "the case row differs from its ledger: close_reason"


@pytest.mark.django_db
def test_acknowledgement_replays(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    case = services.acknowledge(actor=analyst, case=case, occurred_at=now() - HOUR)
    assert verify_case(case).ok
    _set(case, "vendor_acknowledged_at", None)
    assert verify_case(case).problem == (
        "the case row differs from its ledger: vendor_acknowledged_at"
    )


@pytest.mark.django_db
def test_a_time_correction_replays(case, analyst):
    notified = case.events.get(kind="stage_changed", payload__milestone="vendor_notified")
    old = case.vendor_notified_at
    services.correct_event(
        actor=analyst, case=case, seq=notified.seq, reason="clock was off",
        occurred_at=old - timedelta(minutes=10),
    )  # fmt: skip
    case.refresh_from_db()
    assert case.vendor_notified_at == old - timedelta(minutes=10)
    assert verify_case(case).ok
    _set(case, "vendor_notified_at", old)  # back to the uncorrected time
    assert verify_case(case).problem == "the case row differs from its ledger: vendor_notified_at"


TERMS = {
    "days_to_acknowledge": 7,
    "days_to_secure": 90,
    "days_to_publish": 90,
    "grace_days": 14,
    "business_days": False,
}


def test_terms_replay_from_opening_policy_change_and_policy_edit():
    assert opened()["terms"] is None  # a case opened before terms were kept
    state = opened(terms=TERMS)
    assert state["terms"] == TERMS
    shorter = {**TERMS, "days_to_secure": 3}
    apply_event(
        state, "details_updated", T0, {"changes": {}, "terms": {"from": TERMS, "to": shorter}}
    )
    assert state["terms"] == shorter
    apply_event(state, "details_updated", T0, {"changes": {"title": {"from": "a", "to": "b"}}})
    assert state["terms"] == shorter  # no policy change: the terms stay
    apply_event(state, "policy_terms_changed", T0, {"from": shorter, "to": TERMS})
    assert state["terms"] == TERMS


@pytest.mark.parametrize(
    "terms",
    [
        {k: v for k, v in TERMS.items() if k != "grace_days"},
        {**TERMS, "extra": 1},
        {**TERMS, "days_to_secure": -1},
        {**TERMS, "days_to_secure": True},
        {**TERMS, "days_to_secure": "90"},
        {**TERMS, "days_to_secure": 2**31},
        {**TERMS, "business_days": 0},
        None,
        [7, 90, 90, 14, False],
    ],
)
def test_malformed_terms_are_refused(terms):
    with pytest.raises(ValueError):
        opened(terms=terms)
    with pytest.raises(ValueError):
        apply_event(opened(terms=TERMS), "policy_terms_changed", T0, {"to": terms})


def test_state_differences_name_the_terms_that_differ():
    row = opened(terms=TERMS)
    replayed = opened(terms={**TERMS, "days_to_secure": 200, "business_days": True})
    assert state_differences(row, replayed) == ["terms.days_to_secure", "terms.business_days"]
    assert state_differences(opened(), opened(terms=TERMS)) == [
        "terms.days_to_acknowledge",
        "terms.days_to_secure",
        "terms.days_to_publish",
        "terms.grace_days",
        "terms.business_days",
    ]
