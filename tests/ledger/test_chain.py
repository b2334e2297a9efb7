"""The hash chain, checked against DESIGN.md's formula written out afresh."""

import hashlib
import json
from itertools import pairwise

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import EvidenceRequired
from disclosure.core.timeutils import iso_utc
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.services import append_event
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def spec_hash(event: CaseEvent) -> str:
    """sha256(prev_hash + canonical_json(event without hash)), per DESIGN.md."""
    body = {
        "v": 1,
        "case": event.case.reference,
        "seq": event.seq,
        "kind": event.kind,
        "occurred_at": iso_utc(event.occurred_at),
        "recorded_at": iso_utc(event.recorded_at),
        "actor": event.actor_snapshot,
        "payload": event.payload,
        "internal": event.internal,
        "state": event.state,
        "prev_hash": event.prev_hash,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(event.prev_hash.encode() + canonical.encode("utf-8")).hexdigest()


def test_chain_links_every_event_by_the_design_formula(analyst, lead, vendor):
    case = make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor)
    events = list(CaseEvent.objects.filter(case=case).select_related("case").order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == "0" * 64
    assert events[0].kind == EventKind.CASE_OPENED
    for previous, event in pairwise(events):
        assert event.prev_hash == previous.hash
    for event in events:
        assert event.hash == spec_hash(event)
    report = verify_case(case)
    assert report.ok and report.events == len(events) and report.head == events[-1].hash


def test_timestamps_in_the_hash_are_utc_with_microseconds(analyst, vendor):
    case = make_case(actor=analyst, vendor=vendor)
    event = case.events.get(seq=1)
    text = iso_utc(event.recorded_at)
    assert text.endswith("Z") and len(text.split(".")[1]) == 7  # 6 digits + Z


def test_actor_snapshot_is_frozen_and_hashed(analyst, vendor):
    case = make_case(actor=analyst, vendor=vendor)
    event = case.events.get(seq=1)
    assert event.actor_snapshot["id"] == analyst.pk
    assert event.actor_snapshot["role"] == "analyst"
    assert event.actor_snapshot["organization"] == "Research Firm"
    analyst.first_name = "Renamed"
    analyst.save()
    assert verify_case(case).ok  # history does not change when the user does


def test_append_refuses_outside_a_transaction(analyst, vendor):
    case = make_case(actor=analyst, vendor=vendor)
    with pytest.raises(RuntimeError):
        # pytest-django wraps each test in a transaction; leave it to check the guard.
        from django.db import connection

        connection.in_atomic_block, saved = False, connection.in_atomic_block
        try:
            append_event(case=case, kind=EventKind.CORRECTION, actor=analyst)
        finally:
            connection.in_atomic_block = saved


def test_evidence_enters_the_ledger_by_hash_not_content(analyst, vendor):
    case = make_case(actor=analyst, vendor=vendor)
    event = case.events.get(kind=EventKind.EVIDENCE_ATTACHED)
    evidence = case.evidence.get()
    assert event.payload["sha256"] == evidence.sha256
    assert "listing of the exposed container" not in json.dumps(event.payload)


def test_failed_service_writes_no_event(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    before = case.events.count()
    with pytest.raises(EvidenceRequired):  # no re-test result, no confirmation
        services.secure(actor=analyst, case=case, occurred_at=case.vendor_notified_at)
    assert case.events.count() == before
    assert verify_case(case).ok


@pytest.mark.parametrize("value", [1e16, -0.0, 0.5])
def test_an_event_with_a_float_is_refused_before_anything_is_written(value, analyst, vendor):
    """PostgreSQL's jsonb stores 1e16 and -0.0 differently from how they were
    hashed, so a chain holding them would fail verification there only."""
    from django.db import transaction

    case = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    count = case.events.count()
    with pytest.raises(ValueError, match="refuses floats"), transaction.atomic():
        append_event(case=case, kind=EventKind.DETAILS_UPDATED, actor=analyst,
                     payload={"changes": {"volume": value}})  # fmt: skip
    assert case.events.count() == count


def test_checkpoints_are_listed_read_only_in_the_admin(client, admin_user, analyst, vendor):
    from disclosure.ledger.checkpoints import write_checkpoint

    make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    cp = write_checkpoint().checkpoint
    client.force_login(admin_user)
    listing = client.get("/admin/ledger/checkpoint/")
    assert listing.status_code == 200 and cp.root[:16] in listing.content.decode()
    assert client.get("/admin/ledger/checkpoint/add/").status_code == 403
    assert client.post(f"/admin/ledger/checkpoint/{cp.pk}/delete/").status_code == 403
