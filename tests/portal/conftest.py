"""Fixtures of the portal tests: a case of Contoso's at each useful stage,
with an internal note and internal evidence that must never show."""

import io
from datetime import timedelta

import pytest

from disclosure.accounts import invitations
from disclosure.cases import services
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from tests.factories import MembershipFactory, make_case


@pytest.fixture
def notified_case(analyst, vendor):
    """Contoso's case at vendor_notified, with an internal note carrying an
    attachment (internal evidence) and staff-only fields set."""
    case = make_case(
        "vendor_notified",
        actor=analyst,
        vendor=vendor,
        how_found="SECRET-HOW-FOUND scanner run 7",
        severity="critical",
        affected_entity_count=65000,
    )
    services.log_communication(
        actor=analyst,
        case=case,
        direction="internal",
        channel="other",
        sender="analyst",
        recipients=[],
        subject="SECRET-INTERNAL-SUBJECT",
        body="SECRET-INTERNAL-BODY",
        occurred_at=now() - timedelta(minutes=5),
        attachments=[IncomingFile(name="secret-internal.txt", stream=io.BytesIO(b"internal!"))],
    )
    case.refresh_from_db()
    return case


@pytest.fixture
def found_case(analyst, vendor):
    return make_case("found", actor=analyst, vendor=vendor)


@pytest.fixture
def other_case(analyst, other_vendor):
    return make_case(
        "vendor_notified", actor=analyst, vendor=other_vendor, title="Fabrikam's bucket"
    )


@pytest.fixture
def deactivated_contact(vendor, analyst):
    """A former contact of Contoso, deactivated by staff."""
    user = MembershipFactory(organization=vendor, role="vendor_contact").user
    invitations.deactivate_contact(actor=analyst, organization=vendor, contact=user)
    user.refresh_from_db()
    return user


@pytest.fixture
def internal_evidence(notified_case):
    from disclosure.evidence.models import EvidenceFile

    return EvidenceFile.objects.get(case=notified_case, internal=True)


@pytest.fixture
def shared_evidence(notified_case):
    from disclosure.evidence.models import EvidenceFile

    return EvidenceFile.objects.filter(case=notified_case, internal=False).first()
