"""Changes that are not stage transitions: details, legal hold, corrections,
and the follow-up case for a re-exposure."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import transaction

from disclosure.accounts.models import User
from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import clean_text, validated
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .. import access
from ..details import clean_details, details_payload
from ..guards import check_occurred_at, locked_case
from ..models import Case, Escalation
from ..terms import policy_terms, recorded_terms, set_recorded_terms
from ..visibility import split_details
from .corrections import correct_event
from .opening import create_case, require_exposure_evidence
from .policy_terms import lock_policy

__all__ = [
    "correct_event",
    "escalate",
    "open_follow_up",
    "set_legal_hold",
    "update_details",
]


@validated
def update_details(*, actor: User, case: Case, changes: Mapping[str, Any]) -> Case:
    """Change descriptive fields of an open case; record old and new values.

    No event is written when nothing changes. The vendor cannot change once
    the vendor has been notified. A new policy brings its terms: the case
    runs under them from now on, and the vendor-visible event records them
    (``terms``: from, to).
    """
    with locked_case(case, actor=actor, action="update_details") as locked:
        cleaned = clean_details(changes, current=locked)
        if (
            "vendor" in cleaned
            and cleaned["vendor"].pk != locked.vendor_id
            and locked.vendor_notified_at is not None
        ):
            raise ValidationFailed(
                "The vendor cannot change after it has been notified.", field="vendor"
            )
        if "policy" in cleaned and cleaned["policy"].pk != locked.policy_id:
            cleaned["policy"] = lock_policy(cleaned["policy"].pk)  # its terms, as they are
        before = details_payload(locked)
        terms_before = recorded_terms(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        after = details_payload(locked)
        diff = {k: {"from": before[k], "to": after[k]} for k in cleaned if before[k] != after[k]}
        if diff:
            extra: dict[str, Any] = {}
            saved = [*cleaned, "updated_at"]
            if "policy" in diff:
                terms = policy_terms(locked.policy)
                saved += set_recorded_terms(locked, terms)
                extra = {"terms": {"from": terms_before, "to": terms}}
            locked.save(update_fields=saved)
            # What the vendor may see of the case in one event, the firm's own
            # business (assignee, severity, how found...) in an internal one.
            # The policy is shared, so its terms go with the shared event.
            shared, internal = split_details(diff)
            for changes, is_internal in ((shared, False), (internal, True)):
                if changes:
                    append_event(
                        case=locked,
                        kind=EventKind.DETAILS_UPDATED,
                        actor=actor,
                        payload={"changes": changes, **({} if is_internal else extra)},
                        internal=is_internal,
                    )
        return locked


@validated
def set_legal_hold(*, actor: User, case: Case, on: bool, reason: str) -> Case:
    """Place or lift a legal hold (it blocks closing and purging). The event
    is internal: vendors do not see legal holds."""
    with locked_case(case, actor=actor, action="set_legal_hold") as locked:
        reason = clean_text(
            reason,
            field="reason",
            required=True,
            message="Say why the legal hold is placed or lifted.",
        )
        if locked.legal_hold == on:
            raise ValidationFailed(
                f"{locked.reference} is {'already' if on else 'not'} under legal hold.", field="on"
            )
        locked.legal_hold = on
        locked.save(update_fields=["legal_hold", "updated_at"])
        append_event(
            case=locked,
            kind=EventKind.LEGAL_HOLD_CHANGED,
            actor=actor,
            payload={"legal_hold": on, "reason": reason},
            internal=True,
        )
        return locked


@validated
def open_follow_up(
    *,
    actor: User,
    case: Case,
    found_at: datetime,
    how_found: str,
    exposure_evidence: Sequence[IncomingFile],
    title: str | None = None,
    asset_identifier: str | None = None,
) -> Case:
    """Open a new case for a re-exposure of ``case``'s asset after it was
    secured, linked both ways: the new case ``follows_up`` the old one, and the
    old case's ledger records the new reference. The new case obeys every
    rule of ``open_case`` (the actor may open cases; details, discovery time
    and exposure evidence are checked) and is found after ``case`` was secured.
    The new case runs under the parent's policy, with its terms as they are."""
    with transaction.atomic():
        # The parent's policy before the parent (policy_terms' lock order).
        policy_id = Case.objects.filter(pk=case.pk).values_list("policy_id", flat=True).first()
        if policy_id is not None:
            lock_policy(policy_id)
        return _open_follow_up(
            actor=actor,
            case=case,
            found_at=found_at,
            how_found=how_found,
            exposure_evidence=exposure_evidence,
            title=title,
            asset_identifier=asset_identifier,
        )


def _open_follow_up(
    *,
    actor: User,
    case: Case,
    found_at: datetime,
    how_found: str,
    exposure_evidence: Sequence[IncomingFile],
    title: str | None,
    asset_identifier: str | None,
) -> Case:
    with locked_case(case, actor=actor, action="open_follow_up") as parent:
        # After the parent's check: a parent the actor may not see is NotFound.
        access.require(actor, access.Action.OPEN_CASE)
        check_occurred_at(
            found_at,
            not_before=parent.secured_at,
            what="the re-exposure",
            since="the asset was secured",
        )
        values = clean_details(
            {
                "vendor": parent.vendor,
                "title": f"Re-exposure: {parent.title}"[:300] if title is None else title,
                "asset_provider": parent.asset_provider,
                "asset_kind": parent.asset_kind,
                "asset_identifier": (
                    parent.asset_identifier if asset_identifier is None else asset_identifier
                ),
                "asset_region": parent.asset_region,
                "how_found": how_found,
                "data_categories": parent.data_categories,
                "severity": parent.severity,
                "tlp": parent.tlp,
                "time_zone": parent.time_zone,
                "policy": parent.policy,
            }
        )
        require_exposure_evidence(exposure_evidence)
        follow_up = create_case(
            actor=actor,
            values=values,
            found_at=found_at,
            exposure_evidence=exposure_evidence,
            follows_up=parent,
        )
        append_event(
            case=parent,
            kind=EventKind.FOLLOW_UP_OPENED,
            actor=actor,
            occurred_at=found_at,
            payload={"follow_up": follow_up.reference},
        )
        return follow_up


@validated
def escalate(
    *,
    actor: User,
    case: Case,
    target: str,
    organization: str,
    reason: str,
    escalated_at: datetime,
    their_reference: str = "",
) -> Escalation:
    """Record that the case was taken to a CERT, the cloud provider or a
    regulator (from the vendor's notification on, not in the future). The
    event is internal: the vendor is not told through the ledger."""
    with locked_case(case, actor=actor, action="escalate") as locked:
        if target not in Escalation.Target.values:
            raise ValidationFailed(
                f"Unknown escalation target {target!r}: use one of "
                f"{', '.join(Escalation.Target.values)}.",
                field="target",
            )
        values = {
            "organization": clean_text(
                organization,
                model=Escalation,
                field="organization",
                required=True,
                message="Say to whom the case was escalated.",
            ),
            "their_reference": clean_text(
                their_reference, model=Escalation, field="their_reference"
            ),
            "reason": clean_text(
                reason,
                field="reason",
                required=True,
                message="Say why the case was escalated.",
            ),
        }
        check_occurred_at(
            escalated_at,
            not_before=locked.vendor_notified_at,
            what="the escalation",
            since="the vendor was notified",
        )
        escalation = Escalation.objects.create(
            case=locked, target=target, escalated_at=escalated_at, escalated_by=actor, **values
        )
        append_event(
            case=locked,
            kind=EventKind.ESCALATED,
            actor=actor,
            occurred_at=escalated_at,
            payload={
                "escalation_id": escalation.pk,
                "target": target,
                **values,
                "record": record_ref(escalation),
            },
            internal=True,
        )
        return escalation
