"""verify_ledger against an adversary with SQL access: every change behind the
services' back, and what the report must say, written out as a table.

Each row changes one thing on a case that carries every kind of record
(communications, evidence, attestation with countersignature, dispute,
escalation, legal hold) and names the message expected for it. A second,
untouched case must still verify: one broken chain never hides another.
"""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.core.errors import LedgerMismatch
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case, verify_cases
from tests.factories import capture, inbound_kwargs, make_case
from tests.ledger.tampering import forge_event, sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich(analyst, lead, legal, vendor, vendor_contact, other_vendor):
    """A published case with one record of every kind, and an untouched one."""
    case = make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor)
    at = now() - timedelta(hours=1)
    inbound = services.log_communication(actor=analyst, case=case, **inbound_kwargs(at))
    services.countersign_attestation(actor=vendor_contact, case=case, statement="Confirmed.")
    dispute = services.file_dispute(
        actor=analyst, case=case, subject="Count", firm_position="65,000",
        firm_provenance="Our scan", vendor_position="fewer", vendor_provenance="Their audit",
    )  # fmt: skip
    escalation = services.escalate(
        actor=lead, case=case, target="cert", organization="CERT-EU",
        reason="No answer", escalated_at=at,
    )  # fmt: skip
    services.set_legal_hold(actor=legal, case=case, on=True, reason="Litigation expected")
    case.refresh_from_db()
    other = make_case(
        Stage.SECURED, actor=analyst, vendor=other_vendor,
        exposure_evidence=[capture(b"another listing")],
    )  # fmt: skip
    return {
        "case": case,
        "other": other,
        "comm": inbound,
        "evidence": EvidenceFile.objects.filter(case=case).order_by("pk").first(),
        "attestation": DeletionAttestation.objects.get(case=case),
        "dispute": dispute,
        "escalation": escalation,
        "lead": lead,
    }


def _u(table: str, column: str, value, key: str = "id"):
    """UPDATE one column of the fixture's record ``key`` names."""

    def run(r):
        obj = r[table]
        sql(f"UPDATE {obj._meta.db_table} SET {column} = %s WHERE id = %s", [value(r), obj.pk])

    return run


def _case(column: str, value):
    def run(r):
        sql(f"UPDATE cases_case SET {column} = %s WHERE id = %s", [value(r), r["case"].pk])

    return run


def _last_event_deleted(r):
    case = r["case"]
    sql("DELETE FROM ledger_caseevent WHERE case_id = %s AND seq = %s", [case.pk, case.ledger_seq])


def _all_events_deleted(r):
    sql("DELETE FROM ledger_caseevent WHERE case_id = %s", [r["case"].pk])


def _forged_append(r):
    forge_event(r["case"], "details_updated", {"changes": {}})


def _forged_event_without_record_id(r):
    forge_event(
        r["case"],
        "communication_logged",
        {"record": {"type": "communication", "fingerprint": "0" * 64}},
    )


def _actor_changed(r):
    sql(
        "UPDATE ledger_caseevent SET actor_id = %s WHERE case_id = %s AND seq = 1",
        [r["lead"].pk, r["case"].pk],
    )


def _unvouched_row(r):
    Communication.objects.create(
        case=r["case"], direction="inbound", channel="email", sender="x@y", recipients=["a@b"],
        body="slipped in", body_sha256="0" * 64, occurred_at=now(), logged_by=r["lead"],
    )  # fmt: skip


def _one_event_rewritten_and_rehashed(r):
    """Event 3's payload changed and its own hash recomputed: only the next
    event's prev_hash still names the old one."""
    from disclosure.ledger.chain import body_of, compute_hash

    event = CaseEvent.objects.get(case=r["case"], seq=3)
    event.payload = {**event.payload, "name": "innocent.txt"}
    new_hash = compute_hash(body_of(event, r["case"].reference))
    sql(
        "UPDATE ledger_caseevent SET payload = %s, hash = %s WHERE id = %s",
        [json.dumps(event.payload), new_hash, event.pk],
    )


HOUR = timedelta(hours=1)

# id -> (tamper, expected text in the case's report, what the report names)
TAMPERING = {
    "communication time moved": (
        _u("comm", "occurred_at", lambda r: r["comm"].occurred_at - HOUR),
        "communication {comm} differs from what the ledger recorded",
    ),
    "communication body edited": (
        _u("comm", "body", lambda r: "We never said that."),
        "communication {comm} differs from what the ledger recorded",
    ),
    "communication logged by someone else": (
        _u("comm", "logged_by_id", lambda r: r["lead"].pk),
        "communication {comm} differs from what the ledger recorded",
    ),
    "communication moved to another case": (
        _u("comm", "case_id", lambda r: r["other"].pk),
        "communication {comm} is missing",
    ),
    "evidence moved to another case": (
        _u("evidence", "case_id", lambda r: r["other"].pk),
        "evidence {evidence} is missing",
    ),
    "one event rewritten and rehashed": (
        _one_event_rewritten_and_rehashed,
        "prev_hash does not match the previous event's hash",
    ),
    "evidence renamed": (
        _u("evidence", "original_name", lambda r: "innocent.txt"),
        "evidence {evidence} differs from what the ledger recorded",
    ),
    "evidence kind changed": (
        _u("evidence", "kind", lambda r: "other"),
        "evidence {evidence} differs from what the ledger recorded",
    ),
    "evidence capture time set": (
        _u("evidence", "captured_at", lambda r: now() - 5 * HOUR),
        "evidence {evidence} differs from what the ledger recorded",
    ),
    "evidence marked internal (hidden from the vendor)": (
        _u("evidence", "internal", lambda r: True),
        "evidence {evidence} differs from what the ledger recorded",
    ),
    "countersignature statement edited": (
        _u("attestation", "countersignature_statement", lambda r: "Not confirmed."),
        "attestation {attestation} differs from what the ledger recorded",
    ),
    "countersignature removed": (
        _u("attestation", "countersigned_at", lambda r: None),
        "attestation {attestation} differs from what the ledger recorded",
    ),
    "dispute position edited": (
        _u("dispute", "vendor_position", lambda r: "we agree"),
        "dispute {dispute} differs from what the ledger recorded",
    ),
    "escalation reason edited": (
        _u("escalation", "reason", lambda r: "routine"),
        "escalation {escalation} differs from what the ledger recorded",
    ),
    "record row with no event": (_unvouched_row, "no event vouches for communication"),
    "event's actor changed": (_actor_changed, "is not the one its snapshot names"),
    "stage set to closed": (
        _case("stage", lambda r: "closed"),
        "the case row differs from its ledger: stage",
    ),
    "secured time moved": (
        _case("secured_at", lambda r: r["case"].secured_at - HOUR),
        "the case row differs from its ledger: secured_at",
    ),
    "legal hold cleared": (
        _case("legal_hold", lambda r: False),
        "the case row differs from its ledger: legal_hold",
    ),
    "vendor changed": (
        _case("vendor_id", lambda r: r["other"].vendor_id),
        "the case row differs from its ledger: vendor",
    ),
    "last event deleted": (_last_event_deleted, "is not the chain's last event"),
    "all events deleted": (_all_events_deleted, "the case has no events"),
    "event appended by plain INSERT": (_forged_append, "is not the chain's last event"),
    "hashed event without its record id": (
        _forged_event_without_record_id,
        "malformed event: the record it vouches for is malformed",
    ),
}


@pytest.mark.parametrize("name", list(TAMPERING))
def test_verifier_names_each_change(name, rich):
    tamper, expected = TAMPERING[name]
    ids = {k: getattr(v, "pk", None) for k, v in rich.items()}
    assert verify_case(rich["case"]).ok
    tamper(rich)
    reports = {r.reference: r for r in verify_cases()}
    report = reports[rich["case"].reference]
    assert not report.ok
    assert expected.format(**ids) in report.problem
    assert reports[rich["other"].reference].ok or "moved to another case" in name


def test_a_row_moved_between_cases_is_named_in_both(rich):
    TAMPERING["communication moved to another case"][0](rich)
    other = verify_case(rich["other"])
    assert f"no event vouches for communication {rich['comm'].pk}" in other.problem


def test_a_malformed_event_does_not_stop_the_command(rich):
    _forged_event_without_record_id(rich)
    out = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("verify_ledger", stdout=out, stderr=out)
    assert exc.value.code == 1
    text = out.getvalue()
    assert f"{rich['case'].reference}: BROKEN" in text
    assert f"{rich['other'].reference}: intact" in text


@pytest.mark.parametrize(
    "tamper",
    [
        _case("stage", lambda r: "closed"),
        _case("legal_hold", lambda r: False),
        _case("ledger_seq", lambda r: r["case"].ledger_seq - 1),
    ],
    ids=["stage", "legal_hold", "head"],
)
def test_services_refuse_to_build_on_a_falsified_row(tamper, rich, analyst):
    tamper(rich)
    count = CaseEvent.objects.filter(case=rich["case"]).count()
    with pytest.raises(LedgerMismatch, match="run verify_ledger"):
        services.log_communication(actor=analyst, case=rich["case"], **inbound_kwargs(now() - HOUR))
    assert CaseEvent.objects.filter(case=rich["case"]).count() == count
