"""Disputes: both positions and where each comes from, or no record at all."""

import pytest

from disclosure.affected.models import Dispute
from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db

FIELDS = ("subject", "firm_position", "firm_provenance", "vendor_position", "vendor_provenance")


def dispute(**changes):
    return {
        "subject": "Number of affected entities",
        "firm_position": "About 65,000 entities appear in the exposed files.",
        "firm_provenance": "Distinct sender domains counted in our copy before deletion",
        "vendor_position": "Far fewer; many entries are duplicates or test data.",
        "vendor_provenance": "Vendor's blog post of 2022-10-19",
        **changes,
    }


@pytest.fixture
def case(lead, vendor):
    return make_case(Stage.PUBLISHED, actor=lead, vendor=vendor)


def written(case):
    return (
        Dispute.objects.filter(case=case).count(),
        list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True)),
    )


@pytest.mark.parametrize("fixture", ["vendor_contact", "analyst", "lead", "admin_user"])
def test_file_dispute_writes_the_dispute_and_its_event(fixture, request, case):
    actor = request.getfixturevalue(fixture)
    before = now()
    d = services.file_dispute(
        actor=actor, case=case, **dispute(subject="  Number of affected entities  ")
    )
    d.refresh_from_db()
    assert d.subject == "Number of affected entities"
    assert all(getattr(d, f) == dispute()[f] for f in FIELDS)
    assert (d.filed_by, d.status) == (actor, Dispute.Status.OPEN)
    assert before <= d.filed_at <= now()
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == EventKind.DISPUTE_FILED
    assert event.actor_id == actor.pk
    assert event.occurred_at == d.filed_at
    record = event.payload.pop("record")
    assert event.payload == {"dispute_id": d.pk, **dispute()}
    assert (record["type"], record["id"], len(record["fingerprint"])) == ("dispute", d.pk, 64)
    assert verify_case(case).ok


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("value", ["", "   ", None])
def test_every_field_is_required(field, value, case, vendor_contact):
    before = written(case)
    with pytest.raises(ValidationFailed, match=field.replace("_", " ")) as exc:
        services.file_dispute(actor=vendor_contact, case=case, **dispute(**{field: value}))
    assert exc.value.field == field
    assert written(case) == before


def test_subject_longer_than_its_column_is_refused(case, vendor_contact):
    before = written(case)
    with pytest.raises(ValidationFailed, match="longer than 300") as exc:
        services.file_dispute(actor=vendor_contact, case=case, **dispute(subject="s" * 301))
    assert exc.value.field == "subject"
    assert written(case) == before


@pytest.mark.parametrize("fixture", ["legal", "other_vendor_contact", "outsider"])
def test_others_cannot_file_a_dispute(fixture, request, case):
    actor = request.getfixturevalue(fixture)
    before = written(case)
    # Legal sees the case (403); the others may not even know it exists (404).
    expected = (NotPermitted, "file a dispute") if fixture == "legal" else (NotFound, "No such")
    with pytest.raises(expected[0], match=expected[1]):
        services.file_dispute(actor=actor, case=case, **dispute())
    assert written(case) == before


def test_vendor_cannot_dispute_a_case_it_has_not_been_told_about(lead, vendor, vendor_contact):
    hidden = make_case(Stage.FOUND, actor=lead, vendor=vendor)
    with pytest.raises(NotFound):
        services.file_dispute(actor=vendor_contact, case=hidden, **dispute())
    assert not Dispute.objects.exists()


def test_disputes_may_be_filed_on_a_closed_case(lead, vendor, vendor_contact):
    closed = make_case(Stage.CLOSED, actor=lead, vendor=vendor)
    services.file_dispute(actor=vendor_contact, case=closed, **dispute())
    services.file_dispute(actor=lead, case=closed, **dispute(subject="Data categories"))
    assert list(
        Dispute.objects.filter(case=closed).order_by("filed_at").values_list("subject", flat=True)
    ) == ["Number of affected entities", "Data categories"]


DISPUTE = {
    "subject": "Affected entity count",
    "firm_position": "65,000 entities",
    "firm_provenance": "Our count of distinct domains in the listing",
    "vendor_position": "Counts duplicates",
    "vendor_provenance": "Vendor statement of 2022-10-19",
}


def test_dispute_may_be_back_dated_but_not_into_the_future_or_before_the_finding(analyst, vendor):
    from datetime import timedelta

    from disclosure.core.errors import InvalidTimestamp

    case = make_case(Stage.PUBLISHED, actor=analyst, vendor=vendor)
    arose = case.published_at + timedelta(minutes=5)
    dispute = services.file_dispute(actor=analyst, case=case, filed_at=arose, **DISPUTE)
    assert dispute.filed_at == arose
    assert CaseEvent.objects.get(case=case, kind=EventKind.DISPUTE_FILED).occurred_at == arose
    for bad in (now() + timedelta(hours=1), case.found_at - timedelta(seconds=1)):
        with pytest.raises(InvalidTimestamp):
            services.file_dispute(actor=analyst, case=case, filed_at=bad, **DISPUTE)
    assert Dispute.objects.filter(case=case).count() == 1


def test_permission_is_checked_before_the_input(legal, vendor, analyst):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    with pytest.raises(NotPermitted):
        services.file_dispute(actor=legal, case=case, **{**DISPUTE, "subject": ""})


# Answering and settling (issue 16, item 8).


@pytest.fixture
def filed(case, vendor_contact):
    return services.file_dispute(actor=vendor_contact, case=case, **dispute())


def test_staff_answer_and_a_lead_settles_each_a_vendor_visible_event(
    case, filed, analyst, lead, vendor_contact
):
    from disclosure.cases.selectors import events_for

    answered = services.answer_dispute(
        actor=analyst, case=case, dispute=filed, answer="Our count excludes duplicates."
    )
    assert (answered.answer, answered.answered_by, answered.status) == (
        "Our count excludes duplicates.", analyst, "open",
    )  # fmt: skip
    settled = services.settle_dispute(
        actor=lead, case=case, dispute=filed, outcome="rejected", reason="The count holds."
    )
    row = Dispute.objects.get(pk=filed.pk)
    assert (row.status, row.settlement_reason, row.settled_by) == (
        "rejected", "The count holds.", lead,
    )  # fmt: skip
    assert settled.settled_at is not None and row.get_status_display() == "Settled: rejected"
    seen = {e.kind: e.payload for e in events_for(vendor_contact, case)}
    assert seen["dispute_answered"]["answer"] == "Our count excludes duplicates."
    assert (seen["dispute_settled"]["outcome"], seen["dispute_settled"]["reason"]) == (
        "rejected", "The count holds.",
    )  # fmt: skip
    assert seen["dispute_settled"]["record"]["type"] == "dispute"
    assert verify_case(case).ok


def test_a_dispute_is_answered_once_and_settled_once(case, filed, analyst, lead):
    from disclosure.core.errors import TransitionNotAllowed

    services.answer_dispute(actor=analyst, case=case, dispute=filed, answer="No.")
    before = written(case)
    with pytest.raises(TransitionNotAllowed):
        services.answer_dispute(actor=analyst, case=case, dispute=filed, answer="Again.")
    services.settle_dispute(actor=lead, case=case, dispute=filed, outcome="withdrawn",
                            reason="The vendor withdrew it.")  # fmt: skip
    before = written(case)
    with pytest.raises(TransitionNotAllowed):
        services.settle_dispute(actor=lead, case=case, dispute=filed, outcome="accepted",
                                reason="Changed our mind.")  # fmt: skip
    assert written(case) == before


@pytest.mark.parametrize(
    ("outcome", "reason", "field"),
    [("resolved", "Why", "outcome"), ("open", "Why", "outcome"), ("accepted", "  ", "reason")],
)
def test_a_settlement_needs_a_known_outcome_and_a_reason(case, filed, lead, outcome, reason, field):
    before = written(case)
    with pytest.raises(ValidationFailed) as e:
        services.settle_dispute(actor=lead, case=case, dispute=filed, outcome=outcome,
                                reason=reason)  # fmt: skip
    assert e.value.field in (field, "settlement_reason")
    assert written(case) == before and Dispute.objects.get(pk=filed.pk).status == "open"


def test_who_may_answer_and_settle(case, filed, analyst, legal, vendor_contact):
    for actor in (legal, vendor_contact):
        with pytest.raises(NotPermitted):
            services.answer_dispute(actor=actor, case=case, dispute=filed, answer="x")
    for actor in (analyst, legal, vendor_contact):
        with pytest.raises(NotPermitted):
            services.settle_dispute(actor=actor, case=case, dispute=filed, outcome="accepted",
                                    reason="x")  # fmt: skip


def test_another_cases_dispute_is_not_found(case, filed, lead, vendor):
    other = make_case(Stage.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    services.file_dispute(actor=lead, case=other, **dispute())  # so the table lets it run
    with pytest.raises(NotFound):
        services.answer_dispute(actor=lead, case=other, dispute=filed, answer="x")


def test_a_dispute_filed_before_answers_existed_keeps_its_fingerprint(case, filed):
    """The columns added for answers count only once set: the fingerprint
    of an unanswered dispute is over the original columns alone."""
    import hashlib
    import json

    from disclosure.core.timeutils import iso_utc

    event = CaseEvent.objects.get(case=case, kind=EventKind.DISPUTE_FILED)
    row = Dispute.objects.get(pk=filed.pk)
    values = {
        "type": "dispute",
        "id": row.pk,
        "case_id": case.pk,
        "filed_by_id": row.filed_by_id,
        "filed_at": iso_utc(row.filed_at),
        "status": "open",
        **{f: getattr(row, f) for f in FIELDS},
    }
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert event.payload["record"]["fingerprint"] == hashlib.sha256(text.encode()).hexdigest()
