"""verify_ledger compares the chain with the records it vouches for:
communications, evidence files (and, with --deep, their stored bytes) and
deletion attestations. Edits behind the services' back are named by seq."""

import pytest

from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.evidence.storage import blob_name, evidence_storage
from disclosure.ledger.models import EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import make_case
from tests.ledger.tampering import run_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, lead, vendor):
    return make_case(Stage.PUBLISHED, actor=analyst, lead=lead, vendor=vendor)


def seq_of(case, kind) -> int:
    return case.events.filter(kind=kind).order_by("seq").first().seq


def test_untouched_records_verify(case):
    assert verify_case(case, deep=True).ok
    assert run_verify("--deep")[0] == 0


def test_edited_communication_body_is_found(case):
    Communication.objects.filter(case=case).update(body="We never told you anything.")
    code, output = run_verify(case.reference)
    assert code == 1
    seq = seq_of(case, EventKind.COMMUNICATION_LOGGED)
    assert f"{case.reference}: BROKEN at seq {seq}: communication" in output
    assert "differs from what the ledger recorded" in output


def test_deleted_communication_is_found(case):
    comm = Communication.objects.get(case=case)
    comm.attachments.clear()
    Communication.objects.filter(pk=comm.pk).delete()
    report = verify_case(case)
    assert not report.ok and "is missing" in report.problem


def test_edited_evidence_row_is_found(case):
    EvidenceFile.objects.filter(case=case).update(size=1)
    report = verify_case(case)
    assert report.broken_seq == seq_of(case, EventKind.EVIDENCE_ATTACHED)
    assert "evidence" in report.problem and "differs" in report.problem


def test_replaced_evidence_bytes_are_found_only_by_deep(case):
    evidence = EvidenceFile.objects.filter(case=case).first()
    storage = evidence_storage()
    with open(storage.path(blob_name(evidence.sha256)), "wb") as blob:
        blob.write(b"doctored")
    assert verify_case(case).ok  # rows still match; the bytes are not read
    code, output = run_verify("--deep", case.reference)
    assert code == 1 and "does not match its SHA-256" in output


def test_missing_evidence_bytes_are_found_by_deep(case):
    evidence = EvidenceFile.objects.filter(case=case).first()
    evidence_storage().delete(blob_name(evidence.sha256))
    report = verify_case(case, deep=True)
    assert not report.ok and "is missing" in report.problem


def test_edited_attestation_is_found(case):
    DeletionAttestation.objects.filter(case=case).update(retained_metadata=[])
    report = verify_case(case)
    assert report.broken_seq == seq_of(case, EventKind.DELETION_ATTESTED)
    assert "attestation" in report.problem


def test_countersignature_does_not_break_the_attestation(case, vendor_contact):
    from disclosure.cases import services

    services.countersign_attestation(actor=vendor_contact, case=case, statement="Received")
    assert verify_case(case).ok


def test_verifying_a_case_costs_a_fixed_number_of_queries(case, django_assert_max_num_queries):
    # the case, its events, and one query per kind of record (two with a
    # many-to-many): the same for a long chain as for a short one.
    with django_assert_max_num_queries(9):
        assert verify_case(case).ok
