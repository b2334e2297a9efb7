"""What a vendor may see of a case: one declaration, read by the services
(which events and payload keys are vendor-visible), the selectors, the
portal, the API and the vendor variant of the legal export.

Everything not listed here is internal. Internal events are never shown to
vendors; vendor-visible events carry only the keys listed for their kind.
"""

from collections.abc import Mapping
from typing import Any

from .details import DETAIL_FIELDS

# Descriptive case fields a vendor may see. The disclosure policy is shared
# because the vendor is held to its deadlines.
VENDOR_DETAIL_FIELDS: tuple[str, ...] = (
    "title", "summary", "vendor", "asset_provider", "asset_kind", "asset_identifier",
    "asset_region", "data_categories", "volume_bytes", "volume_objects", "records_by_kind",
    "data_from", "data_to", "affected_entity_count", "affected_country_count", "tlp",
    "policy", "data_categories_other",
)  # fmt: skip
# The firm's own business: how it found the asset, its triage and who works it.
INTERNAL_DETAIL_FIELDS: tuple[str, ...] = tuple(
    f for f in DETAIL_FIELDS if f not in VENDOR_DETAIL_FIELDS
)

# Case fields (besides the details above) a vendor may see.
VENDOR_CASE_FIELDS: tuple[str, ...] = (
    "reference", *VENDOR_DETAIL_FIELDS, "stage", "found_at", "vendor_notified_at",
    "vendor_acknowledged_at", "secured_at", "data_deleted_at", "published_at", "closed_at",
    "publication_url", "publication_title", "close_reason", "follows_up",
)  # fmt: skip

_RECORD = "record"  # the fingerprint of the record the event vouches for
# Payload keys of each vendor-visible event kind. A kind not listed here is
# internal whatever its flag (legal holds, overrides, notes, escalations,
# internal details, legal export requests and downloads).
VENDOR_EVENT_KEYS: Mapping[str, frozenset[str]] = {
    # The policy's terms: the deadlines the vendor is held to (cases.terms).
    "case_opened": frozenset({"stage", "details", "terms", "follows_up"}),
    "stage_changed": frozenset({
        "from", "to", "milestone", "late", "note",
        "notice_communication_id", "channel", "recipients",  # vendor notified
        "basis", "retest_result", "confirmation_communication_id",
        "confirmed_by_vendor_contact", "evidence",  # secured
        "attestation_id", "attestation_sha256",  # data deleted
        "url", "title", "override",  # published
        "reason",  # closed
    }),
    "vendor_acknowledged": frozenset({"note"}),
    "communication_logged": frozenset({
        "communication_id", "direction", "channel", "sender", "recipients", "subject",
        "body_sha256", "attachments", _RECORD,
    }),
    "evidence_attached": frozenset({
        "evidence_id", "sha256", "size", "content_type", "name", "kind", "captured_at", _RECORD,
    }),
    "evidence_shared": frozenset({"evidence_id", "sha256", _RECORD}),
    "deletion_attested": frozenset({
        "attestation_id", "content_sha256", "items", "total_bytes", "method",
        "retained_metadata", _RECORD,
    }),
    "attestation_countersigned": frozenset({
        "attestation_id", "content_sha256", "statement", _RECORD,
    }),
    "dispute_filed": frozenset({
        "dispute_id", "subject", "firm_position", "firm_provenance", "vendor_position",
        "vendor_provenance", _RECORD,
    }),
    "dispute_answered": frozenset({"dispute_id", "subject", "answer", _RECORD}),
    "dispute_settled": frozenset({"dispute_id", "subject", "outcome", "reason", _RECORD}),
    "correction": frozenset({"corrects_seq", "corrects_hash", "reason", "statement",
                             "occurred_at"}),
    "details_updated": frozenset({"changes", "terms"}),
    "policy_terms_changed": frozenset({"policy", "from", "to", "changed", "note"}),
    "follow_up_opened": frozenset({"follow_up"}),
    # Affected entities: an import's file hash and counts; each party's count claim.
    "affected_imported": frozenset({"import_id", "format", "sha256", "size", "rows",
                                    "minimised", "counts", "method_version", "suffix_list"}),
    "count_claim_filed": frozenset({"dispute_id", "party", "level", "count", "method", "note",
                                    "basis", _RECORD}),
}  # fmt: skip

# The affected-entity count levels (affected.models.Level) a vendor sees, with
# their methods and both parties' claims; never the records, the grouped
# organizations or the IP-address figure.
VENDOR_AFFECTED_LEVELS: tuple[str, ...] = (
    "mentions", "emails", "hosts", "domains", "business_domains", "organizations", "countries",
)  # fmt: skip


def split_details(details: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``details`` as (vendor-visible, internal) parts."""
    shared = {k: v for k, v in details.items() if k in VENDOR_DETAIL_FIELDS}
    internal = {k: v for k, v in details.items() if k not in VENDOR_DETAIL_FIELDS}
    return shared, internal


def vendor_may_see_event(kind: str, internal: bool) -> bool:
    """Whether an event of ``kind`` with this ``internal`` flag is shown to vendors."""
    return not internal and kind in VENDOR_EVENT_KEYS
