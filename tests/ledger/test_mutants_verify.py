"""verify_ledger, append_event and the record fingerprints: what the mutation
pass found unchecked. Each test names the exact problem (its seq and text) a
tampering must produce, in the order a report lists them; the expected
texts and fingerprints are written out, not read back from the code."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.db import transaction

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.core.errors import LedgerMismatch
from disclosure.core.timeutils import iso_utc, now
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.evidence.storage import blob_name, evidence_storage
from disclosure.ledger import verify
from disclosure.ledger.chain import GENESIS, compute_hash, event_body
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.services import append_event
from disclosure.ledger.verify import Problem, verify_case, verify_cases
from tests.factories import capture, deletion_kwargs, inbound_kwargs, make_case
from tests.ledger.tampering import sql

pytestmark = pytest.mark.django_db
HOUR = timedelta(hours=1)


@pytest.fixture
def case(analyst, lead, vendor):
    return make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor)


def forge(case, kind, payload, *, v=1, state=None, advance_row=False):
    """Append a correctly hashed event by INSERT (format version ``v``); with
    ``advance_row`` the case row's head is moved onto it as well."""
    last = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    at = last.recorded_at if last else case.found_at
    snapshot = last.actor_snapshot if last else {"id": None}
    state = state if state is not None else (last.state if last else "")
    body = event_body(
        case_reference=case.reference, seq=seq, kind=kind, occurred_at=at, recorded_at=at,
        actor=snapshot, payload=payload, internal=False, state=state, prev_hash=prev, v=v,
    )  # fmt: skip
    event = CaseEvent.objects.create(
        case=case, seq=seq, kind=kind, occurred_at=at, recorded_at=at,
        actor_id=snapshot.get("id") if isinstance(snapshot, dict) else None,
        actor_snapshot=snapshot, payload=payload, internal=False, v=v, state=state,
        prev_hash=prev, hash=compute_hash(body),
    )  # fmt: skip
    if advance_row:
        sql(
            "UPDATE cases_case SET ledger_seq = %s, ledger_head = %s WHERE id = %s",
            [seq, event.hash, case.pk],
        )
    return event


# A malformed event: a broken link at its own seq, with its reason.


def test_an_unknown_format_version(case):
    event = forge(case, "details_updated", {"changes": {}}, v=2, advance_row=True)
    report = verify_case(case)
    assert report.problems == [Problem(event.seq, "malformed event: unknown format version 2")]
    assert report.events == event.seq - 1


def test_a_payload_that_is_not_an_object(case):
    event = forge(case, "details_updated", [1, 2], advance_row=True)
    assert verify_case(case).problems == [
        Problem(event.seq, "malformed event: the payload is not an object")
    ]


def test_a_payload_missing_what_the_replay_needs(case):
    event = forge(case, "stage_changed", {"to": "closed"}, advance_row=True)
    assert verify_case(case).problems == [
        Problem(event.seq, "malformed event: KeyError 'milestone'")
    ]


def test_the_actor_named_in_full(case, lead, analyst):
    sql(
        "UPDATE ledger_caseevent SET actor_id = %s WHERE case_id = %s AND seq = 2",
        [lead.pk, case.pk],
    )
    assert verify_case(case).problems == [
        Problem(
            2,
            f"malformed event: the actor (user {lead.pk}) is not the one its snapshot names "
            f"({analyst.pk})",
        )
    ]


def test_a_snapshot_that_is_not_an_object(case):
    event = forge(case, "details_updated", {"changes": {}}, advance_row=True)
    body = event_body(
        case_reference=case.reference, seq=event.seq, kind=event.kind,
        occurred_at=event.occurred_at, recorded_at=event.recorded_at, actor=["x"],
        payload=event.payload, internal=False, state=event.state, prev_hash=event.prev_hash,
    )  # fmt: skip
    sql(
        "UPDATE ledger_caseevent SET actor_snapshot = %s, hash = %s WHERE id = %s",
        [json.dumps(["x"]), compute_hash(body), event.pk],
    )
    sql("UPDATE cases_case SET ledger_head = %s WHERE id = %s", [compute_hash(body), case.pk])
    assert verify_case(case).problems == [
        Problem(
            event.seq,
            f"malformed event: the actor (user {event.actor_id}) is not the one its snapshot "
            "names (['x'])",
        )
    ]


def test_a_rehashed_event_breaks_the_next_link_at_the_next_seq(case):
    event = CaseEvent.objects.get(case=case, seq=3)
    event.payload = {**event.payload, "x": 1}
    body = event_body(
        case_reference=case.reference, seq=3, kind=event.kind, occurred_at=event.occurred_at,
        recorded_at=event.recorded_at, actor=event.actor_snapshot, payload=event.payload,
        internal=event.internal, state=event.state, prev_hash=event.prev_hash,
    )  # fmt: skip
    sql(
        "UPDATE ledger_caseevent SET payload = %s, hash = %s WHERE id = %s",
        [json.dumps(event.payload), compute_hash(body), event.pk],
    )
    assert verify_case(case).problems == [
        Problem(4, "prev_hash does not match the previous event's hash")
    ]


# The end of the chain and the case row.


def test_a_case_whose_events_are_all_gone(case):
    seq = case.ledger_seq
    sql("DELETE FROM ledger_caseevent WHERE case_id = %s", [case.pk])
    report = verify_case(case, records=False)
    assert (report.events, report.head) == (0, None)
    assert report.problems == [
        Problem(None, "the case has no events (its chain was removed)"),
        Problem(None, f"the case row's head (#{seq}) is not the chain's last event (#0)"),
    ]


def test_an_appended_event_is_named_at_its_seq(case):
    seq = case.ledger_seq
    forge(case, "details_updated", {"changes": {}})
    assert verify_case(case).problems == [
        Problem(seq + 1, f"the case row's head (#{seq}) is not the chain's last event (#{seq + 1})")
    ]


def test_the_first_event_checkpointed(case):
    # A checkpoint that vouched for a one-event chain with another head.
    report = next(verify_cases([case.reference], checkpoint={case.reference: (1, "f" * 64)}))
    assert report.problems == [
        Problem(1, "event differs from the checkpointed head (the chain was rewritten)")
    ]


def test_every_differing_field_is_named_in_order(case):
    sql(
        "UPDATE cases_case SET stage = 'closed', legal_hold = %s, title = 'X' WHERE id = %s",
        [True, case.pk],
    )
    assert verify_case(case).problems == [
        Problem(case.ledger_seq, "the case row differs from its ledger: stage, legal_hold, title")
    ]


def test_a_last_event_with_a_wrong_state_digest(case):
    event = forge(case, "details_updated", {"changes": {}}, state="0" * 64, advance_row=True)
    assert verify_case(case).problems == [
        Problem(event.seq, "the last event's state digest does not match the case")
    ]


def test_problems_are_listed_by_seq_then_those_without(case, lead):
    seq = case.ledger_seq
    comm = Communication.objects.get(case=case)
    vouching = CaseEvent.objects.get(case=case, payload__record__type="communication").seq
    Communication.objects.filter(pk=comm.pk).update(body="Never said.")
    Communication.objects.create(
        case=case, direction="inbound", channel="email", sender="x@y", recipients=["a@b"],
        body="slipped in", body_sha256="0" * 64, occurred_at=now(), logged_by=lead,
    )  # fmt: skip
    unvouched = Communication.objects.order_by("-pk").first()
    forge(case, "details_updated", {"changes": {}})
    assert vouching < seq
    assert verify_case(case).problems == [
        Problem(vouching, f"communication {comm.pk} differs from what the ledger recorded"),
        Problem(
            seq + 1, f"the case row's head (#{seq}) is not the chain's last event (#{seq + 1})"
        ),
        Problem(None, f"no event vouches for communication {unvouched.pk}"),
    ]


def test_a_missing_record_is_named_at_the_event_that_vouched_for_it(case, lead):
    escalation = services.escalate(
        actor=lead, case=case, target="cert", organization="CERT-EU",
        reason="No answer", escalated_at=now() - HOUR,
    )  # fmt: skip
    seq = CaseEvent.objects.get(case=case, payload__record__type="escalation").seq
    sql("DELETE FROM cases_escalation WHERE id = %s", [escalation.pk])
    assert verify_case(case).problems == [Problem(seq, f"escalation {escalation.pk} is missing")]


# verify_cases: the defaults, and a checkpointed case that is gone.


def test_stored_bytes_are_read_only_when_asked(case):
    evidence = EvidenceFile.objects.filter(case=case).first()
    with open(evidence_storage().path(blob_name(evidence.sha256)), "wb") as blob:
        blob.write(b"doctored")
    assert [r.ok for r in verify_cases()] == [True]
    assert [r.ok for r in verify_cases(deep=True)] == [False]


def test_a_checkpointed_case_that_is_gone(case):
    heads = {"DSC-2001-0001": (3, "a" * 64), case.reference: (case.ledger_seq, case.ledger_head)}
    reports = list(verify_cases(checkpoint=heads))
    assert [(r.reference, r.ok) for r in reports] == [
        (case.reference, True),
        ("DSC-2001-0001", False),
    ]
    gone = reports[1]
    assert (gone.events, gone.head) == (0, None)
    assert gone.problems == [Problem(3, "the checkpointed case is missing")]
    # Asked about one case, only that case is reported.
    assert [r.reference for r in verify_cases([case.reference], checkpoint=heads)] == [
        case.reference
    ]
    assert [r.reference for r in verify_cases(["DSC-2001-0001"], checkpoint=heads)] == [
        "DSC-2001-0001"
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("what", ["checkpoint", "records", "deep", "no deep", "no records"])
def test_worker_processes_check_what_the_caller_asked(what, analyst, vendor, monkeypatch):
    """Chunks verified in forked processes (--workers) check the same things:
    the checkpoint, the records and, with deep, the stored bytes."""
    cases = [
        make_case(
            actor=analyst, vendor=vendor, exposure_evidence=[capture(f"listing {i}".encode())]
        )
        for i in range(3)
    ]
    target = cases[1]
    heads = {c.reference: (c.ledger_seq, c.ledger_head) for c in cases}
    if what == "checkpoint":
        heads[target.reference] = (target.ledger_seq + 1, "f" * 64)
        expected = f"the checkpoint vouches for {target.ledger_seq + 1} events"
    elif what in ("records", "no records"):
        EvidenceFile.objects.filter(case=target).update(description="edited")
        expected = "differs from what the ledger recorded"
    else:
        evidence = EvidenceFile.objects.filter(case=target).first()
        with open(evidence_storage().path(blob_name(evidence.sha256)), "wb") as blob:
            blob.write(b"doctored")
        expected = "does not match its SHA-256"
    monkeypatch.setattr(verify, "CASES_PER_CHUNK", 1)
    reports = list(
        verify_cases(checkpoint=heads, deep=what == "deep", records=what != "no records", workers=2)
    )
    assert [r.reference for r in reports] == sorted(c.reference for c in cases)
    if what.startswith("no "):  # (the workers are told, not left with the last call's values)
        assert [r.ok for r in reports] == [True, True, True]
        return
    assert [r.ok for r in reports] == [True, False, True]
    assert expected in reports[1].problem


def test_no_worker_processes_inside_a_transaction(analyst, vendor, monkeypatch):
    """Forked workers, with connections of their own, could not see rows the
    caller has not committed yet: inside a transaction the chunks are
    verified in this process."""
    cases = [make_case(actor=analyst, vendor=vendor) for _ in range(2)]
    monkeypatch.setattr(verify, "CASES_PER_CHUNK", 1)
    reports = list(verify_cases(workers=2))
    assert [(r.reference, r.ok) for r in reports] == [(c.reference, True) for c in cases]


def test_events_are_walked_in_seq_order_whatever_the_row_order(case):
    event = CaseEvent.objects.get(case=case, seq=2)
    sql("DELETE FROM ledger_caseevent WHERE id = %s", [event.pk])
    event.pk = None
    event.save(force_insert=True)  # the same event, stored after all the others
    assert verify_case(case).ok


@pytest.mark.django_db(transaction=True)
def test_append_event_outside_a_transaction_is_refused(analyst, vendor):
    case = make_case(actor=analyst, vendor=vendor)
    with pytest.raises(RuntimeError) as exc:
        append_event(case=case, kind="details_updated", actor=analyst, payload={})
    assert str(exc.value) == "append_event must run inside transaction.atomic()"


# append_event and require_consistent.


def test_the_mismatch_messages_name_both_ends(case, analyst):
    seq, head = case.ledger_seq, case.ledger_head
    sql("UPDATE cases_case SET ledger_seq = %s WHERE id = %s", [seq - 1, case.pk])
    with pytest.raises(LedgerMismatch) as exc:
        services.log_communication(actor=analyst, case=case, **inbound_kwargs(now() - HOUR))
    assert str(exc.value) == (
        f"{case.reference}'s record says its ledger ends at event #{seq - 1}, but the ledger "
        f"ends at #{seq}: the record was changed outside the application. Nothing was changed; "
        "run verify_ledger."
    )
    sql("UPDATE cases_case SET ledger_seq = %s, title = 'X' WHERE id = %s", [seq, case.pk])
    with pytest.raises(LedgerMismatch) as exc:
        services.log_communication(actor=analyst, case=case, **inbound_kwargs(now() - HOUR))
    assert str(exc.value) == (
        f"{case.reference}'s record differs from the state its ledger recorded at event #{seq} "
        "(stage, times, hold or details were changed outside the application). Nothing was "
        "changed; run verify_ledger."
    )
    assert head == case.events.order_by("-seq")[0].hash


def test_append_event_alone_checks_the_head(case, analyst):
    from disclosure.cases.models import Case

    seq = case.ledger_seq
    sql("UPDATE cases_case SET ledger_seq = %s WHERE id = %s", [seq - 1, case.pk])
    stale = Case.objects.get(pk=case.pk)
    expected = f"ends at event #{seq - 1}, but the ledger ends at #{seq}"
    with pytest.raises(LedgerMismatch, match=expected), transaction.atomic():
        append_event(case=stale, kind="details_updated", actor=analyst, payload={})


def test_a_contact_of_two_vendors_acts_for_this_case_vendor(case, vendor, other_vendor):
    from tests.factories import MembershipFactory

    contact = MembershipFactory(organization=vendor, role="vendor_contact").user
    MembershipFactory(user=contact, organization=other_vendor, role="vendor_contact")
    services.countersign_attestation(actor=contact, case=case, statement="Confirmed.")
    event = case.events.order_by("-seq")[0]
    assert event.actor_snapshot["organization"] == "Contoso"


# Fingerprints: many-to-many links, and the formula.


def test_attachments_are_vouched_for(case, analyst):
    files = [capture(b"one", "a.txt"), capture(b"two", "b.txt")]
    comm = services.log_communication(
        actor=analyst, case=case, **inbound_kwargs(now() - HOUR, attachments=files)
    )
    assert comm.attachments.count() == 2 and verify_case(case).ok
    seq = case.events.order_by("-seq")[0].seq
    sql(
        "DELETE FROM comms_communication_attachments WHERE communication_id = %s AND "
        "evidencefile_id = (SELECT MIN(evidencefile_id) FROM comms_communication_attachments "
        "WHERE communication_id = %s)",
        [comm.pk, comm.pk],
    )
    assert verify_case(case).problems == [
        Problem(seq, f"communication {comm.pk} differs from what the ledger recorded")
    ]


def test_deletion_logs_are_vouched_for_after_a_countersignature(
    analyst, lead, vendor, vendor_contact
):
    case = make_case(Stage.SECURED, actor=analyst, vendor=vendor)
    kwargs = deletion_kwargs(analyst, lead, now() - HOUR)
    logs = [capture(b"log 1", "l1.txt"), capture(b"log 2", "l2.txt")]
    services.record_deletion(actor=analyst, case=case, evidence=logs, **kwargs)
    services.countersign_attestation(actor=vendor_contact, case=case, statement="Confirmed.")
    attestation = DeletionAttestation.objects.get(case=case)
    assert attestation.evidence.count() == 2
    assert verify_case(case).ok


def test_a_fingerprint_by_its_formula(case, lead):
    escalation = services.escalate(
        actor=lead, case=case, target="cert", organization="CERT-EU",
        their_reference="", reason="No answer", escalated_at=now() - HOUR,
    )  # fmt: skip
    values = {
        "type": "escalation", "id": escalation.pk, "case_id": case.pk, "target": "cert",
        "organization": "CERT-EU", "their_reference": "", "reason": "No answer",
        "escalated_at": iso_utc(escalation.escalated_at),
        "escalated_by_id": escalation.escalated_by_id,
    }  # fmt: skip
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert record_ref(escalation) == {
        "type": "escalation",
        "id": escalation.pk,
        "fingerprint": hashlib.sha256(text.encode()).hexdigest(),
    }
