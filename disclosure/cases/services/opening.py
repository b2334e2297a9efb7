"""Opening a case (stage ``found``)."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from disclosure.accounts.models import Organization, User
from disclosure.core.errors import EvidenceRequired, ValidationFailed
from disclosure.core.validation import validated
from disclosure.evidence.models import EXPOSURE_KINDS
from disclosure.evidence.services import IncomingFile, write_evidence_files
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .. import access
from ..details import DETAIL_FIELDS, clean_details, details_payload
from ..guards import check_occurred_at
from ..models import Case, DisclosurePolicy, ReferenceCounter
from ..stages import Stage
from ..terms import policy_terms, terms_columns
from ..visibility import split_details
from .policy_terms import lock_policy

__all__ = ["DETAIL_FIELDS", "create_case", "default_policy", "next_reference", "open_case"]

DEFAULT_POLICY_NAME = "Standard 90"


def default_policy() -> DisclosurePolicy:
    policy = DisclosurePolicy.objects.filter(name=DEFAULT_POLICY_NAME).first()
    if policy is None:
        raise ValidationFailed("No disclosure policy is configured: choose one.", field="policy")
    return policy


def next_reference(year: int) -> str:
    """Issue the next reference of ``year`` (DSC-2026-0042); call inside a
    transaction. Concurrent callers get distinct numbers."""
    ReferenceCounter.objects.bulk_create([ReferenceCounter(year=year)], ignore_conflicts=True)
    counter = ReferenceCounter.objects.select_for_update().get(year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{settings.DISCLOSURE_REFERENCE_PREFIX}-{year}-{counter.last_number:04d}"


@validated
def open_case(
    *,
    actor: User,
    vendor: Organization,
    title: str,
    asset_provider: str,
    asset_kind: str,
    asset_identifier: str,
    how_found: str,
    found_at: datetime,
    exposure_evidence: Sequence[IncomingFile],
    **details: Any,
) -> Case:
    """Open a case at stage ``found`` and return it.

    Guarantees the asset, how it was found and at least one capture or
    screenshot of the exposure, a found time not in the future, a unique
    reference, and the start of the case's chain: ``case_opened`` (with the
    details a vendor may see and the policy's terms, which the case runs
    under from now on), ``internal_details`` (the rest), then one
    ``evidence_attached`` per file. Nothing is written when any rule fails.
    Optional ``details`` are the other DETAIL_FIELDS. A re-exposure of an
    earlier case is opened with ``open_follow_up`` instead.
    """
    access.require(actor, access.Action.OPEN_CASE)
    values = clean_details(
        {
            "vendor": vendor,
            "title": title,
            "asset_provider": asset_provider,
            "asset_kind": asset_kind,
            "asset_identifier": asset_identifier,
            "how_found": how_found,
            **details,
        }
    )
    values.setdefault("policy", None)
    if values["policy"] is None:
        values["policy"] = default_policy()
    check_occurred_at(found_at, what="the exposure's discovery")
    require_exposure_evidence(exposure_evidence)
    with transaction.atomic():
        return create_case(
            actor=actor,
            values=values,
            found_at=found_at,
            exposure_evidence=exposure_evidence,
            follows_up=None,
        )


def require_exposure_evidence(files: Sequence[IncomingFile]) -> None:
    """Raise EvidenceRequired unless ``files`` hold a capture or screenshot."""
    if not any(f.kind in EXPOSURE_KINDS for f in files):
        raise EvidenceRequired(
            "Opening a case needs evidence of the exposure: at least one capture or screenshot.",
            field="exposure_evidence",
        )


def create_case(
    *,
    actor,
    values: dict[str, Any],
    found_at: datetime,
    exposure_evidence: Sequence[IncomingFile],
    follows_up: Case | None,
) -> Case:
    """Write a new case from validated ``values`` with the start of its chain.

    For open_case and open_follow_up, which have checked the rules; call
    inside a transaction. The case records its policy's terms as they are
    (the policy locked against edits until the transaction ends).
    """
    reference = next_reference(found_at.astimezone(UTC).year)
    policy = lock_policy(values["policy"].pk)
    terms = policy_terms(policy)
    case = Case.objects.create(
        reference=reference,
        stage=Stage.FOUND,
        found_at=found_at,
        follows_up=follows_up,
        **{**values, "policy": policy},
        **terms_columns(terms),
    )
    # Lock the new row like every other write, so appends are serialised.
    case = Case.objects.select_for_update().get(pk=case.pk)
    shared, internal = split_details(details_payload(case))
    append_event(
        case=case,
        kind=EventKind.CASE_OPENED,
        actor=actor,
        occurred_at=found_at,
        payload={
            "stage": Stage.FOUND,
            "details": shared,
            "terms": terms,
            "follows_up": (
                {"id": follows_up.pk, "reference": follows_up.reference} if follows_up else None
            ),
        },
    )
    append_event(
        case=case,
        kind=EventKind.INTERNAL_DETAILS,
        actor=actor,
        occurred_at=found_at,
        payload={"details": internal},
        internal=True,
    )
    write_evidence_files(case=case, actor=actor, files=exposure_evidence)
    return case
