"""Evidence files and deletion attestations through the services."""

import hashlib
import io
import json

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.canonical import canonical_json
from disclosure.core.errors import (
    DuplicateEvidence,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    ValidationFailed,
)
from disclosure.evidence.models import DeletionAttestation, EvidenceFile, EvidenceKind
from disclosure.evidence.services import IncomingFile
from disclosure.evidence.storage import blob_name
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.evidence.test_storage import png_bytes, stored_files
from tests.factories import make_case

pytestmark = pytest.mark.django_db

S = Stage
CONTENT = b"row 1: alice@contoso.example, Contoso Ltd, +1 555 0100\n"


def upload(data=CONTENT, name="listing.csv", kind=EvidenceKind.OTHER, description=""):
    return IncomingFile(name=name, stream=io.BytesIO(data), kind=kind, description=description)


def ledger(case):
    return list(CaseEvent.objects.filter(case=case).values_list("hash", flat=True))


@pytest.fixture
def notified(lead, vendor):
    return make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)


# --- attach_evidence ----------------------------------------------------------


def test_attach_evidence_records_what_the_server_computed(notified, analyst, _private_storage):
    data = png_bytes()
    ev = services.attach_evidence(
        actor=analyst,
        case=notified,
        file=upload(data, name="notes.txt", kind=EvidenceKind.SCREENSHOT, description=" shot "),
    )
    ev.refresh_from_db()
    assert ev.sha256 == hashlib.sha256(data).hexdigest()
    assert ev.size == len(data)
    assert ev.content_type == "image/png"  # from the bytes, not the ".txt"
    assert (ev.original_name, ev.kind, ev.description) == ("notes.txt", "screenshot", "shot")
    assert ev.uploaded_by == analyst
    assert (_private_storage / "evidence" / blob_name(ev.sha256)).read_bytes() == data


@pytest.mark.parametrize(
    ("name", "stored"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\dump.sql", "dump.sql"),
        ("   ", "unnamed"),
        ("x" * 300 + ".csv", "x" * 255),
    ],
)
def test_client_names_are_kept_for_display_only(name, stored, notified, analyst):
    ev = services.attach_evidence(actor=analyst, case=notified, file=upload(name=name))
    assert ev.original_name == stored
    assert ev.storage_name == blob_name(ev.sha256)


def test_evidence_event_carries_the_hash_never_the_content(notified, analyst):
    ev = services.attach_evidence(actor=analyst, case=notified, file=upload())
    event = CaseEvent.objects.filter(case=notified).order_by("-seq").first()
    assert event.kind == EventKind.EVIDENCE_ATTACHED
    record = event.payload.pop("record")
    assert event.payload == {
        "evidence_id": ev.pk,
        "sha256": hashlib.sha256(CONTENT).hexdigest(),
        "size": len(CONTENT),
        "content_type": ev.content_type,
        "name": ev.original_name,
        "kind": ev.kind,
        "captured_at": None,
    }
    assert (record["type"], record["id"]) == ("evidence", ev.pk)
    assert event.payload["sha256"] == hashlib.sha256(CONTENT).hexdigest()
    dumped = json.dumps(event.payload)
    assert "alice@contoso.example" not in dumped
    assert "Contoso Ltd" not in dumped
    assert verify_case(notified).ok


def test_same_content_twice_on_one_case_is_a_duplicate(notified, analyst, _private_storage):
    first = services.attach_evidence(actor=analyst, case=notified, file=upload(name="a.csv"))
    before = ledger(notified)
    with pytest.raises(DuplicateEvidence, match="already attached") as exc:
        services.attach_evidence(actor=analyst, case=notified, file=upload(name="b.csv"))
    assert "'a.csv'" in exc.value.message
    assert first.sha256[:12] in exc.value.message
    assert EvidenceFile.objects.filter(case=notified, sha256=first.sha256).count() == 1
    assert ledger(notified) == before
    assert len([p for p in stored_files(_private_storage) if p.name == first.sha256]) == 1


def test_same_content_on_two_cases_is_one_blob(lead, analyst, vendor, _private_storage):
    one = make_case(S.FOUND, actor=lead, vendor=vendor)
    two = make_case(S.FOUND, actor=lead, vendor=vendor)
    a = services.attach_evidence(actor=analyst, case=one, file=upload())
    b = services.attach_evidence(actor=analyst, case=two, file=upload())
    assert a.pk != b.pk
    assert a.sha256 == b.sha256
    assert [p.name for p in stored_files(_private_storage)].count(a.sha256) == 1


@pytest.mark.parametrize(
    ("file", "match"),
    [
        (lambda: upload(b""), "empty"),
        (lambda: upload(b"x" * 65), "larger than"),
        (lambda: upload(kind="selfie"), "Unknown evidence kind"),
    ],
    ids=["empty", "oversized", "bad-kind"],
)
def test_refused_files_leave_no_row_no_event_and_no_blob(
    file, match, notified, analyst, settings, _private_storage
):
    settings.EVIDENCE_MAX_BYTES = 64
    blobs = stored_files(_private_storage)
    rows = EvidenceFile.objects.filter(case=notified).count()
    before = ledger(notified)
    with pytest.raises(ValidationFailed, match=match):
        services.attach_evidence(actor=analyst, case=notified, file=file())
    assert EvidenceFile.objects.filter(case=notified).count() == rows
    assert ledger(notified) == before
    assert stored_files(_private_storage) == blobs


@pytest.mark.parametrize(
    ("fixture", "allowed"),
    [
        ("analyst", True),
        ("lead", True),
        ("admin_user", True),
        ("vendor_contact", True),
        ("legal", False),
        ("other_vendor_contact", False),
        ("outsider", False),
    ],
)
def test_who_may_attach_evidence(fixture, allowed, request, notified):
    actor = request.getfixturevalue(fixture)
    before = ledger(notified)
    if allowed:
        ev = services.attach_evidence(actor=actor, case=notified, file=upload())
        assert ev.uploaded_by == actor
    else:
        # Legal sees the case (403); the others may not know it exists (404).
        hidden = fixture != "legal"
        with pytest.raises(NotFound if hidden else NotPermitted):
            services.attach_evidence(actor=actor, case=notified, file=upload())
        assert ledger(notified) == before


def test_vendor_cannot_attach_before_being_notified(lead, vendor, vendor_contact):
    case = make_case(S.FOUND, actor=lead, vendor=vendor)
    with pytest.raises(NotFound):
        services.attach_evidence(actor=vendor_contact, case=case, file=upload())


def test_attach_evidence_refused_on_a_closed_case(lead, vendor):
    case = make_case(S.CLOSED, actor=lead, vendor=vendor)
    before = ledger(case)
    with pytest.raises(TransitionNotAllowed, match="closed"):
        services.attach_evidence(actor=lead, case=case, file=upload())
    assert ledger(case) == before


# --- deletion attestation -----------------------------------------------------


def test_attestation_hash_covers_what_was_attested(lead, vendor):
    case = make_case(S.DATA_DELETED, actor=lead, vendor=vendor)
    att = DeletionAttestation.objects.get(case=case)
    content = {
        "case": case.reference,
        "items": att.items,
        "total_bytes": att.total_bytes,
        "method": att.method,
        "tool": att.tool,
        "performed_by": att.performed_by_id,
        "performed_at": att.performed_at,
        "verified_by": att.verified_by_id,
        "verification": att.verification,
        "retained_metadata": att.retained_metadata,
        "retention_reason": att.retention_reason,
        "evidence": sorted(att.evidence.values_list("sha256", flat=True)),
    }
    assert att.content_sha256 == hashlib.sha256(canonical_json(content)).hexdigest()
    assert att.retained_metadata == ["domain", "company name"]


# --- countersign_attestation --------------------------------------------------


@pytest.fixture
def deleted(lead, vendor):
    return make_case(S.DATA_DELETED, actor=lead, vendor=vendor)


def test_vendor_contact_countersigns_once(deleted, vendor_contact):
    att = services.countersign_attestation(
        actor=vendor_contact, case=deleted, statement="  We confirm the deletion. "
    )
    att.refresh_from_db()
    assert att.countersigned_by == vendor_contact
    assert att.countersignature_statement == "We confirm the deletion."
    event = CaseEvent.objects.filter(case=deleted).order_by("-seq").first()
    assert event.kind == EventKind.ATTESTATION_COUNTERSIGNED
    record = event.payload.pop("record")
    assert event.payload == {
        "attestation_id": att.pk,
        "content_sha256": att.content_sha256,
        "statement": "We confirm the deletion.",
    }
    # The countersignature is vouched for: the attestation's new fingerprint.
    attested = CaseEvent.objects.get(case=deleted, kind=EventKind.DELETION_ATTESTED)
    assert (record["type"], record["id"]) == ("attestation", att.pk)
    assert record["fingerprint"] != attested.payload["record"]["fingerprint"]
    assert event.occurred_at == att.countersigned_at
    before = ledger(deleted)
    signed_at = att.countersigned_at
    with pytest.raises(TransitionNotAllowed, match="countersigned already"):
        services.countersign_attestation(actor=vendor_contact, case=deleted, statement="again")
    att.refresh_from_db()
    assert (att.countersigned_at, att.countersignature_statement) == (
        signed_at,
        "We confirm the deletion.",
    )
    assert ledger(deleted) == before


@pytest.mark.parametrize(
    "fixture", ["analyst", "lead", "legal", "admin_user", "other_vendor_contact", "outsider"]
)
def test_only_the_vendor_contact_countersigns(fixture, request, deleted):
    actor = request.getfixturevalue(fixture)
    before = ledger(deleted)
    # Staff see the case (403); the others may not know it exists (404).
    hidden = fixture in ("other_vendor_contact", "outsider")
    with pytest.raises(NotFound if hidden else NotPermitted):
        services.countersign_attestation(actor=actor, case=deleted)
    att = DeletionAttestation.objects.get(case=deleted)
    assert att.countersigned_at is None
    assert ledger(deleted) == before


def test_countersign_needs_the_attestation_stage(lead, vendor, vendor_contact):
    case = make_case(S.SECURED, actor=lead, vendor=vendor)
    with pytest.raises(TransitionNotAllowed, match="data deleted"):
        services.countersign_attestation(actor=vendor_contact, case=case)


def test_countersign_refuses_a_case_without_an_attestation(lead, vendor, vendor_contact):
    """Closed without deleting (reason: invalid): nothing to countersign."""
    case = make_case(S.VENDOR_NOTIFIED, actor=lead, vendor=vendor)
    case = services.close_case(actor=lead, case=case, reason="invalid")
    before = ledger(case)
    with pytest.raises(TransitionNotAllowed, match="no deletion attestation"):
        services.countersign_attestation(actor=vendor_contact, case=case)
    assert ledger(case) == before


def test_capture_time_dates_the_evidence_event(analyst, vendor):
    from datetime import timedelta

    from disclosure.core.errors import InvalidTimestamp
    from disclosure.core.timeutils import iso_utc, now

    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    taken = now() - timedelta(days=3)
    evidence = services.attach_evidence(
        actor=analyst,
        case=case,
        file=IncomingFile(
            "shot.png", io.BytesIO(png_bytes()), EvidenceKind.SCREENSHOT, captured_at=taken
        ),
    )
    event = CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_ATTACHED).last()
    assert evidence.captured_at == taken and event.occurred_at == taken
    assert event.recorded_at > taken
    assert event.payload["captured_at"] == iso_utc(taken)
    with pytest.raises(InvalidTimestamp, match="future"):
        services.attach_evidence(
            actor=analyst,
            case=case,
            file=IncomingFile(
                "later.txt",
                io.BytesIO(b"not yet"),
                EvidenceKind.OTHER,
                captured_at=now() + timedelta(hours=1),
            ),
        )
    assert verify_case(case).ok


# --- who sees a file (issue 16, item 9) ---------------------------------------


def _shared_names(case):
    from disclosure.cases import vendor_view

    return sorted(f.original_name for f in vendor_view.evidence(case))


@pytest.mark.parametrize(
    "kind,shared",
    [
        (EvidenceKind.SCREENSHOT, None),
        (EvidenceKind.OTHER, None),
        (EvidenceKind.SCREENSHOT, False),
        (EvidenceKind.OTHER, True),
    ],
)
def test_the_uploader_chooses_who_sees_a_file_else_the_kind_default(
    notified, analyst, vendor_contact, kind, shared
):
    """Screenshots are shared and unclassified files internal unless the
    uploader chooses; the choice decides the file, its ledger event and the
    vendor's view (portal, vendor export)."""
    f = IncomingFile(name="f.bin", stream=io.BytesIO(b"x"), kind=kind, shared=shared)
    ev = services.attach_evidence(actor=analyst, case=notified, file=f)
    expected_internal = {
        (EvidenceKind.SCREENSHOT, None): False,
        (EvidenceKind.OTHER, None): True,
        (EvidenceKind.SCREENSHOT, False): True,
        (EvidenceKind.OTHER, True): False,
    }[(kind, shared)]
    assert ev.internal is expected_internal
    event = CaseEvent.objects.get(
        case=notified, kind=EventKind.EVIDENCE_ATTACHED, payload__evidence_id=ev.pk
    )
    assert event.internal is expected_internal
    # The case's own exposure capture is shared by default too.
    assert _shared_names(notified) == (
        ["capture.txt"] if expected_internal else ["capture.txt", "f.bin"]
    )


def test_a_vendor_contacts_upload_is_always_shared(notified, vendor_contact):
    f = IncomingFile(
        name="theirs.txt", stream=io.BytesIO(b"x"), kind=EvidenceKind.OTHER, shared=False
    )
    ev = services.attach_evidence(actor=vendor_contact, case=notified, file=f)
    assert ev.internal is False
    assert _shared_names(notified) == ["capture.txt", "theirs.txt"]


def test_the_default_is_stated():
    from disclosure.evidence.models import visibility_default_text

    assert visibility_default_text() == (
        "Default: shared with the vendor, except files of kind Other (internal)."
    )
    assert visibility_default_text(EvidenceKind.SCREENSHOT) == (
        "Default for Screenshot: shared with the vendor."
    )
    assert visibility_default_text(EvidenceKind.OTHER) == "Default for Other: internal (firm only)."
