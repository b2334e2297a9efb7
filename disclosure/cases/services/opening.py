"""Opening a case (stage ``found``) and the validation of its details."""

import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from disclosure.accounts.models import Organization
from disclosure.accounts.selectors import principal_for
from disclosure.core.errors import EvidenceRequired, ValidationFailed
from disclosure.evidence.models import EXPOSURE_KINDS
from disclosure.evidence.services import IncomingFile, write_evidence_files
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .. import access
from ..guards import check_occurred_at
from ..models import (
    AssetKind,
    AssetProvider,
    Case,
    DataCategory,
    DisclosurePolicy,
    ReferenceCounter,
    Severity,
    Tlp,
)
from ..stages import Stage

DEFAULT_POLICY_NAME = "Standard 90"

# Fields that describe a case (as opposed to its stage and ledger-driven state).
DETAIL_FIELDS = (
    "title",
    "summary",
    "vendor",
    "asset_provider",
    "asset_kind",
    "asset_identifier",
    "asset_region",
    "how_found",
    "data_categories",
    "volume_bytes",
    "volume_objects",
    "records_by_kind",
    "data_from",
    "data_to",
    "affected_entity_count",
    "affected_country_count",
    "severity",
    "tlp",
    "time_zone",
    "policy",
    "assignee",
)
_REQUIRED_TEXT = ("title", "asset_identifier", "how_found")
_CHOICES = {
    "asset_provider": AssetProvider,
    "asset_kind": AssetKind,
    "severity": Severity,
    "tlp": Tlp,
}
_COUNTS = ("volume_bytes", "volume_objects", "affected_entity_count", "affected_country_count")


def clean_details(values: Mapping[str, Any], *, current: Case | None = None) -> dict[str, Any]:
    """Validate case details; return them normalised. Raises ValidationFailed
    naming the first bad field. Only the keys given are checked, but the date
    range is checked against ``current`` when only one end changes."""
    unknown = set(values) - set(DETAIL_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown case field(s): {', '.join(sorted(unknown))}.")
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in _REQUIRED_TEXT or name in ("summary", "asset_region"):
            value = (value or "").strip()
            if name in _REQUIRED_TEXT and not value:
                raise ValidationFailed(f"The {name.replace('_', ' ')} is required.", field=name)
        elif name in _CHOICES:
            if value not in _CHOICES[name].values:
                raise ValidationFailed(
                    f"Unknown {name.replace('_', ' ')} {value!r}: use one of "
                    f"{', '.join(_CHOICES[name].values)}.",
                    field=name,
                )
        elif name in _COUNTS:
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValidationFailed(
                    f"{name.replace('_', ' ')} must be a whole number ≥ 0.", field=name
                )
        elif name == "data_categories":
            value = sorted(set(value or ()))
            bad = [c for c in value if c not in DataCategory.values]
            if bad:
                raise ValidationFailed(
                    f"Unknown data categor(ies): {', '.join(map(str, bad))}.", field=name
                )
        elif name == "records_by_kind":
            value = dict(value or {})
            for kind, count in value.items():
                if (
                    not str(kind).strip()
                    or not isinstance(count, int)
                    or isinstance(count, bool)
                    or count < 0
                ):
                    raise ValidationFailed(
                        "Records by kind maps a kind of record to a whole number ≥ 0.", field=name
                    )
        elif name in ("data_from", "data_to"):
            if value is not None and (not isinstance(value, date) or isinstance(value, datetime)):
                raise ValidationFailed(f"{name.replace('_', ' ')} must be a date.", field=name)
        elif name == "time_zone":
            if value not in zoneinfo.available_timezones():
                raise ValidationFailed(f"Unknown time zone {value!r}.", field=name)
        elif name == "vendor":
            if not isinstance(value, Organization) or value.kind != Organization.Kind.VENDOR:
                raise ValidationFailed("The vendor must be a vendor organization.", field=name)
        elif name == "policy":
            if not isinstance(value, DisclosurePolicy):
                raise ValidationFailed("Choose a disclosure policy.", field=name)
        elif name == "assignee":
            if value is not None and not principal_for(value).is_staff_member:
                raise ValidationFailed("Cases are assigned to staff members only.", field=name)
        out[name] = value
    start = out.get("data_from", current.data_from if current else None)
    end = out.get("data_to", current.data_to if current else None)
    if start and end and start > end:
        raise ValidationFailed("The data date range ends before it starts.", field="data_to")
    return out


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


def open_case(
    *,
    actor,
    vendor: Organization,
    title: str,
    asset_provider: str,
    asset_kind: str,
    asset_identifier: str,
    how_found: str,
    found_at: datetime,
    exposure_evidence: Sequence[IncomingFile],
    follows_up: Case | None = None,
    **details: Any,
) -> Case:
    """Open a case at stage ``found`` and return it.

    Guarantees the asset, how it was found and at least one capture or
    screenshot of the exposure, a found time not in the future, a unique
    reference, and the ``case_opened`` event (then one ``evidence_attached``
    per file) as the start of the case's chain. Nothing is written when any
    rule fails. Optional ``details`` are the other DETAIL_FIELDS.
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
    if not any(f.kind in EXPOSURE_KINDS for f in exposure_evidence):
        raise EvidenceRequired(
            "Opening a case needs evidence of the exposure: at least one capture or screenshot.",
            field="exposure_evidence",
        )
    with transaction.atomic():
        case = Case.objects.create(
            reference=next_reference(found_at.year),
            stage=Stage.FOUND,
            found_at=found_at,
            follows_up=follows_up,
            **values,
        )
        # Lock the new row like every other write, so appends are serialised.
        case = Case.objects.select_for_update().get(pk=case.pk)
        append_event(
            case=case,
            kind=EventKind.CASE_OPENED,
            actor=actor,
            occurred_at=found_at,
            payload={
                "stage": Stage.FOUND,
                "details": details_payload(case),
                "follows_up": follows_up.reference if follows_up else None,
            },
        )
        write_evidence_files(case=case, actor=actor, files=exposure_evidence)
        return case


def details_payload(case: Case) -> dict[str, Any]:
    """The case's details as ledger JSON (related objects by id and name)."""
    out: dict[str, Any] = {}
    for name in DETAIL_FIELDS:
        value = getattr(case, name)
        if name in ("vendor", "policy"):
            value = {"id": value.pk, "name": value.name}
        elif name == "assignee":
            value = {"id": value.pk, "username": value.get_username()} if value else None
        out[name] = value
    return out
