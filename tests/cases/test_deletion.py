"""Recording the deletion of the copies: the manifest, the attestation and who
may perform and verify it. Every refusal leaves the case exactly as it was."""

import io
from datetime import timedelta

import pytest

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import EvidenceRequired, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation, EvidenceKind
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent, EventKind
from tests.cases.helpers import kinds, state
from tests.factories import SHA, deletion_kwargs, make_case

pytestmark = pytest.mark.django_db

S = Stage


# --- record_deletion ----------------------------------------------------------


@pytest.fixture
def secured_case(lead, vendor):
    return make_case(S.SECURED, actor=lead, vendor=vendor)


def _deletion(secured_case, lead, verifier, **changes):
    """``lead`` records a deletion that ``lead`` performed and ``verifier`` verified."""
    kwargs = {**deletion_kwargs(lead, verifier, now() - timedelta(minutes=5)), **changes}
    return services.record_deletion(actor=lead, case=secured_case, **kwargs)


@pytest.mark.parametrize("items", [None, []])
def test_deletion_without_items_needs_evidence(items, secured_case, lead, analyst):
    before = state(secured_case)
    with pytest.raises(EvidenceRequired, match="manifest") as exc:
        _deletion(secured_case, lead, analyst, items=items)
    assert exc.value.field == "items"
    assert state(secured_case) == before


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ({"path": "a", "bytes": 1, "sha256": "abc"}, "64 hex digits"),
        ({"path": "a", "bytes": 1, "sha256": "g" * 64}, "64 hex digits"),
        ({"path": "a", "bytes": 1}, "64 hex digits"),
        ({"path": "a", "bytes": -1, "sha256": SHA}, "size in bytes"),
        ({"path": "a", "bytes": "1024", "sha256": SHA}, "size in bytes"),
        ({"path": "a", "bytes": True, "sha256": SHA}, "size in bytes"),
        ({"path": " ", "bytes": 1, "sha256": SHA}, "no path"),
        ("copies/a.tar", "not an object"),
    ],
)
def test_deletion_with_a_bad_item_is_refused(item, match, secured_case, lead, analyst):
    before = state(secured_case)
    with pytest.raises(ValidationFailed, match=match):
        _deletion(secured_case, lead, analyst, items=[item])
    assert state(secured_case) == before


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"method": "shred"}, ValidationFailed, "Unknown deletion method"),
        ({"tool": " "}, ValidationFailed, "Name the tool"),
        ({"tool": "t" * 201}, ValidationFailed, "too long"),
        ({"verification": ""}, EvidenceRequired, "how the deletion was verified"),
        ({"retention_reason": " "}, ValidationFailed, "why metadata is retained"),
    ],
)
def test_deletion_attestation_rules(changes, error, match, secured_case, lead, analyst):
    before = state(secured_case)
    with pytest.raises(error, match=match):
        _deletion(secured_case, lead, analyst, **changes)
    assert state(secured_case) == before


def test_deletion_verified_by_the_performer_is_refused(secured_case, lead):
    before = state(secured_case)
    with pytest.raises(ValidationFailed, match="someone other than") as exc:
        _deletion(secured_case, lead, lead)
    assert exc.value.field == "verified_by"
    assert state(secured_case) == before


def test_deletion_without_a_verifier_is_refused(secured_case, lead):
    before = state(secured_case)
    with pytest.raises(EvidenceRequired, match="who verified") as exc:
        _deletion(secured_case, lead, None)
    assert exc.value.field == "verified_by"
    assert state(secured_case) == before


def test_deletion_performed_or_verified_by_a_vendor_contact_is_refused(
    secured_case, lead, vendor_contact
):
    before = state(secured_case)
    with pytest.raises(ValidationFailed, match="performed by a staff member"):
        _deletion(secured_case, lead, None, performed_by=vendor_contact)
    with pytest.raises(ValidationFailed, match="verifier must be a staff member"):
        _deletion(secured_case, lead, vendor_contact)
    assert state(secured_case) == before


def test_deletion_with_nothing_retained_needs_no_reason(secured_case, lead, analyst):
    case = _deletion(secured_case, lead, analyst, retained_metadata=[" ", ""], retention_reason="")
    assert case.deletion_attestation.retained_metadata == []


def test_deletion_writes_the_attestation_then_the_stage(secured_case, lead, analyst):
    log = IncomingFile("shred.log", io.BytesIO(b"shred: pass 3/3"), kind="other")
    case = _deletion(secured_case, lead, analyst, evidence=[log])
    attestation = DeletionAttestation.objects.get(case=case)
    assert attestation.total_bytes == 1024
    assert attestation.items == [{"path": "copies/container.tar", "bytes": 1024, "sha256": SHA}]
    assert attestation.evidence.get().kind == EvidenceKind.DELETION_LOG
    assert kinds(case)[-3:] == [
        EventKind.EVIDENCE_ATTACHED,
        EventKind.DELETION_ATTESTED,
        EventKind.STAGE_CHANGED,
    ]
    stage, attested = CaseEvent.objects.filter(case=case).order_by("-seq")[:2]
    assert attested.payload["content_sha256"] == attestation.content_sha256
    assert stage.payload["attestation_sha256"] == attestation.content_sha256
    assert case.data_deleted_at == attestation.performed_at
