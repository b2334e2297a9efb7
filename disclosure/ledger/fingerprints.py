"""Fingerprints of the records the ledger vouches for.

A communication, an evidence file, a deletion attestation (with its
countersignature), a dispute and an escalation live in ordinary tables. The
event that writes or changes one carries ``payload["record"]``:
``{"type", "id", "fingerprint"}``, where the fingerprint is the SHA-256 of
the canonical JSON of every field that carries meaning. The writer and the
verifier call the same ``fingerprint`` so the two can never drift apart.
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models

from disclosure.affected.models import Dispute
from disclosure.cases.models import Escalation
from disclosure.comms.models import Communication
from disclosure.core.canonical import canonical_json
from disclosure.core.hashing import sha256_hex
from disclosure.evidence.models import DeletionAttestation, EvidenceFile


@dataclass(frozen=True)
class RecordType:
    """One kind of vouched record: its model, the columns that carry meaning
    and its many-to-many field (listed as sorted ids), if any."""

    name: str
    model: type[models.Model]
    columns: tuple[str, ...]
    m2m: str | None = None
    # Columns added after records were vouched for: fingerprinted only when
    # set (not None or empty), so a record vouched for before keeps its
    # fingerprint.
    added: tuple[str, ...] = ()

    def _with_added(self, values: dict[str, Any], added: Mapping[str, Any]) -> dict[str, Any]:
        values.update({c: v for c, v in added.items() if v not in (None, "")})
        return values

    def values_of(self, obj: models.Model, linked: Iterable[int] | None = None) -> dict[str, Any]:
        """The fingerprinted values of a saved instance; ``linked``, when the
        writer knows them, are the ids of its many-to-many rows (else read)."""
        values = {c: getattr(obj, c) for c in self.columns}
        self._with_added(values, {c: getattr(obj, c) for c in self.added})
        if self.m2m:
            if linked is None:
                linked = getattr(obj, self.m2m).values_list("pk", flat=True)
            values[self.m2m] = sorted(linked)
        return values

    def row_values(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """The fingerprinted values of a row given as a mapping of its
        columns (the many-to-many field, when there is one, passed in it as
        a list of ids): the columns, and the added ones only when set."""
        values = self._with_added(
            {c: row[c] for c in self.columns}, {c: row[c] for c in self.added}
        )
        if self.m2m:
            values[self.m2m] = sorted(row[self.m2m])
        return values

    def fingerprint(self, values: Mapping[str, Any]) -> str:
        """SHA-256 of ``{"type": name, **values}`` in canonical JSON."""
        return sha256_hex(canonical_json({"type": self.name, **values}))

    def iter_rows(self, case_ids: Iterable[int]) -> Iterator[dict[str, Any]]:
        """The fingerprinted values of every row of these cases, streamed
        (memory holds one batch of rows and the many-to-many ids)."""
        case_ids = list(case_ids)
        linked: dict[int, list[int]] = {}
        if self.m2m:
            field = self.model._meta.get_field(self.m2m)
            own = f"{self.model._meta.model_name}_id"
            target = f"{field.related_model._meta.model_name}_id"
            links = field.remote_field.through.objects.filter(
                **{f"{own[:-3]}__case_id__in": case_ids}
            ).values_list(own, target)
            for owner, other in links:
                linked.setdefault(owner, []).append(other)
        rows = self.model.objects.filter(case_id__in=case_ids).values(*self.columns, *self.added)
        for row in rows.iterator(chunk_size=1000):
            if self.m2m:
                row[self.m2m] = linked.get(row["id"], ())
            yield self.row_values(row)


COMMUNICATION = RecordType(
    "communication",
    Communication,
    (
        "id", "case_id", "direction", "channel", "sender", "recipients", "subject", "body",
        "body_sha256", "occurred_at", "logged_by_id", "logged_at",
    ),
    m2m="attachments",
    added=("message_id", "in_reply_to", "references", "raw_message_id", "sender_unknown",
           "automated"),
)  # fmt: skip
EVIDENCE = RecordType(
    "evidence",
    EvidenceFile,
    (
        "id", "case_id", "sha256", "size", "content_type", "original_name", "kind",
        "description", "uploaded_by_id", "uploaded_at", "captured_at", "internal",
    ),
)  # fmt: skip
ATTESTATION = RecordType(
    "attestation",
    DeletionAttestation,
    (
        "id", "case_id", "items", "total_bytes", "method", "tool", "performed_by_id",
        "performed_at", "verified_by_id", "verification", "retained_metadata",
        "retention_reason", "content_sha256", "countersigned_by_id", "countersigned_at",
        "countersignature_statement", "created_at",
    ),
    m2m="evidence",
)  # fmt: skip
DISPUTE = RecordType(
    "dispute",
    Dispute,
    (
        "id", "case_id", "subject", "firm_position", "firm_provenance", "vendor_position",
        "vendor_provenance", "filed_by_id", "filed_at", "status",
    ),
    added=("answer", "answered_by_id", "answered_at", "settlement_reason", "settled_by_id",
           "settled_at", "count_level", "firm_count", "firm_count_method", "firm_count_at",
           "firm_count_basis", "vendor_count", "vendor_count_method", "vendor_count_at",
           "vendor_count_basis"),
)  # fmt: skip
ESCALATION = RecordType(
    "escalation",
    Escalation,
    (
        "id", "case_id", "target", "organization", "their_reference", "reason",
        "escalated_at", "escalated_by_id",
    ),
)  # fmt: skip

RECORD_TYPES: dict[str, RecordType] = {
    t.name: t for t in (COMMUNICATION, EVIDENCE, ATTESTATION, DISPUTE, ESCALATION)
}
_BY_MODEL = {t.model: t for t in RECORD_TYPES.values()}


def record_ref(obj: models.Model, linked: Iterable[int] | None = None) -> dict[str, Any]:
    """What an event carries to vouch for ``obj`` as it is now (``linked``:
    the ids of its many-to-many rows, when the writer has just set them)."""
    t = _BY_MODEL[type(obj)]
    return {
        "type": t.name,
        "id": obj.pk,
        "fingerprint": t.fingerprint(t.values_of(obj, linked)),
    }
