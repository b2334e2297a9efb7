"""Fixtures of the export tests: a case with every kind of record, built
through the real services, and PDF reading helpers.

Import the fixtures into a test module with
``from tests.exports.rich_case import *  # noqa: F403``.
"""

import io
import re
from datetime import timedelta

import pytest
from pypdf import PdfReader

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from tests.factories import inbound_kwargs, make_case

__all__ = [
    "ESCALATION_ORG",
    "INTERNAL_NOTE",
    "VENDOR_MESSAGE",
    "export_storage",
    "pdf_pages_text",
    "pdf_text",
    "rich_case",
    "squash",
]

INTERNAL_NOTE = "Internal only: vendor counsel is difficult"
ESCALATION_ORG = "CERT-Bund escalation desk"
VENDOR_MESSAGE = "We confirm the container is private now."


@pytest.fixture
def export_storage(settings, tmp_path):
    """Exports are stored in the test's own private folder."""
    from django.core.files.storage import storages

    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": tmp_path / "default", "base_url": None},
        },
    }
    storages._storages.pop("default", None)
    yield tmp_path / "default"
    storages._storages.pop("default", None)


@pytest.fixture
def rich_case(lead, vendor, vendor_contact, export_storage):
    """A case at data_deleted with: an inbound message, an internal note, a
    countersigned attestation, a dispute, an escalation and a correction of
    the secured milestone's time, in the Europe/Berlin time zone."""
    start = now() - timedelta(days=20)
    case = make_case(
        Stage.DATA_DELETED,
        actor=lead,
        vendor=vendor,
        start=start,
        time_zone="Europe/Berlin",
        summary="Container listed anonymously.",
    )
    services.log_communication(
        actor=lead,
        case=case,
        **inbound_kwargs(start + timedelta(hours=2, minutes=30), body=VENDOR_MESSAGE),
    )
    services.log_communication(
        actor=lead,
        case=case,
        direction="internal",
        channel="other",
        sender="lead@firm.example",
        recipients=[],
        subject="Note",
        body=INTERNAL_NOTE,
        occurred_at=start + timedelta(hours=3),
    )
    services.countersign_attestation(
        actor=vendor_contact, case=case, statement="Contoso confirms the deletion."
    )
    services.file_dispute(
        actor=lead,
        case=case,
        subject="Number of affected entities",
        firm_position="65,000 entities in the listing",
        firm_provenance="Our count of distinct domains",
        vendor_position="Fewer than 111 entities",
        vendor_provenance="Vendor statement of 2022-10-19",
    )
    services.escalate(
        actor=lead,
        case=case,
        target="cert",
        organization=ESCALATION_ORG,
        reason="Vendor unresponsive for a week",
        escalated_at=start + timedelta(hours=5),
    )
    secured = case.events.get(kind="stage_changed", payload__milestone="secured")
    services.correct_event(
        actor=lead,
        case=case,
        seq=secured.seq,
        reason="The re-test ran earlier",
        occurred_at=start + timedelta(hours=1, minutes=45),
    )
    case.refresh_from_db()
    return case


def pdf_pages_text(data: bytes) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages]


def pdf_text(data: bytes) -> str:
    return "\n".join(pdf_pages_text(data))


def squash(text: str) -> str:
    """Text without whitespace (a PDF wraps long lines where it likes)."""
    return re.sub(r"\s+", "", text)
