"""What a vendor sees of the ledger, walked over every event of the demo data
as each vendor contact. The allowed keys are written out here by hand, from
the issue's rule (shared case details, stage facts, the vendor's own
messages), not read from the declaration they check."""

import json

import pytest

from disclosure.accounts.models import Membership, Role
from disclosure.cases.access import visible_cases
from disclosure.cases.selectors import events_for
from disclosure.demo.seed import seed_demo

pytestmark = pytest.mark.django_db

SHARED_DETAILS = {
    "title", "summary", "vendor", "asset_provider", "asset_kind", "asset_identifier",
    "asset_region", "data_categories", "volume_bytes", "volume_objects", "records_by_kind",
    "data_from", "data_to", "affected_entity_count", "affected_country_count", "tlp", "policy",
    "data_categories_other",
}  # fmt: skip
RECORD = {"record"}
ALLOWED = {
    # The policy's terms: the deadlines the vendor is held to.
    "case_opened": {"stage", "details", "terms", "follows_up"},
    "stage_changed": {
        "from", "to", "milestone", "late", "note", "notice_communication_id", "channel",
        "recipients", "basis", "retest_result", "confirmation_communication_id",
        "confirmed_by_vendor_contact", "evidence", "attestation_id", "attestation_sha256",
        "url", "title", "override", "reason",
    },
    "vendor_acknowledged": {"note"},
    "communication_logged": {
        "communication_id", "direction", "channel", "sender", "recipients", "subject",
        "body_sha256", "attachments",
    } | RECORD,
    "evidence_attached": {
        "evidence_id", "sha256", "size", "content_type", "name", "kind", "captured_at",
    } | RECORD,
    "evidence_shared": {"evidence_id", "sha256"} | RECORD,
    "deletion_attested": {
        "attestation_id", "content_sha256", "items", "total_bytes", "method",
        "retained_metadata",
    } | RECORD,
    "attestation_countersigned": {"attestation_id", "content_sha256", "statement"} | RECORD,
    "dispute_filed": {
        "dispute_id", "subject", "firm_position", "firm_provenance", "vendor_position",
        "vendor_provenance",
    } | RECORD,
    "correction": {"corrects_seq", "corrects_hash", "reason", "statement", "occurred_at"},
    "details_updated": {"changes", "terms"},
    "policy_terms_changed": {"policy", "from", "to", "changed", "note"},
    "follow_up_opened": {"follow_up"},
    "affected_imported": {"import_id", "format", "sha256", "size", "rows", "minimised", "counts",
                          "method_version", "suffix_list"},
    "count_claim_filed": {"dispute_id", "party", "level", "count", "method", "note",
                          "basis"} | RECORD,
}  # fmt: skip
# Never shown to a vendor, in any event.
INTERNAL_KINDS = {"internal_details", "note_added", "legal_hold_changed", "override_granted",
                  "escalated"}  # fmt: skip
INTERNAL_DETAILS = {"how_found", "severity", "assignee", "time_zone"}


def test_every_demo_event_a_vendor_sees_carries_only_shared_fields():
    seed_demo()
    contacts = [
        m.user for m in Membership.objects.filter(role=Role.VENDOR_CONTACT).select_related("user")
    ]
    assert len(contacts) >= 3
    walked = 0
    for contact in contacts:
        for case in visible_cases(contact):
            for event in events_for(contact, case):
                walked += 1
                where = f"{case.reference} #{event.seq} {event.kind} as {contact.username}"
                assert not event.internal, where
                assert event.kind in ALLOWED, where
                assert event.kind not in INTERNAL_KINDS, where
                assert set(event.payload) <= ALLOWED[event.kind], where
                details = event.payload.get("details", {})
                changes = event.payload.get("changes", {})
                assert set(details) <= SHARED_DETAILS, where
                assert set(changes) <= SHARED_DETAILS, where
                dumped = json.dumps(event.payload)
                for name in INTERNAL_DETAILS:
                    assert f'"{name}"' not in dumped, where
    assert walked > 30  # the demo's vendor-visible history, all of it walked
