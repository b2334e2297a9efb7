"""Disclosure policies and the terms their cases run under.

A case runs under the terms its ledger recorded (``cases.terms``): they are
copied from its policy when the policy is set (opening, ``update_details``)
and recorded in that event. Editing a policy's terms (``edit_policy``)
changes the terms of every case under it that is not closed, each with a
``policy_terms_changed`` event the vendor sees: the firm's policy binds its
open cases, and the change is on each case's record, with who made it and
when. A closed case keeps the terms it ran under. So, at every moment, an
open case's recorded terms are its policy's terms, which verify_ledger
checks: a policy row edited outside this service is named there, and moves
no deadline.

Lock order, against deadlocks: ``edit_policy`` holds the policy while it
locks the open cases under it, so a service that copies a policy's terms
(``lock_policy``) while holding a case *under that policy* must take the
policy first (``open_follow_up`` does); one that moves a case to another
policy (``update_details``) or has no case yet (``open_case``) may take it
after.
"""

from collections.abc import Mapping
from typing import Any

from django.db import connection, transaction

from disclosure.accounts.models import User
from disclosure.core.errors import ValidationFailed
from disclosure.core.validation import clean_text, validated
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .. import access
from ..guards import locked_case
from ..models import Case, DisclosurePolicy
from ..terms import (
    MAX_DAYS,
    TERMS_COLUMNS,
    TERMS_FIELDS,
    policy_terms,
    recorded_terms,
    set_recorded_terms,
    terms_differences,
)

__all__ = ["edit_policy", "lock_policy"]

_EDITABLE = ("name", "description", *TERMS_FIELDS)


def lock_policy(policy_id: int) -> DisclosurePolicy:
    """The policy row as it is, locked against edits until the transaction
    ends (FOR SHARE on PostgreSQL: readers do not wait for each other; an
    ``edit_policy`` waits for them, and they for it). Call inside a
    transaction before copying its terms onto a case. Raises
    ValidationFailed when the policy is gone."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(DisclosurePolicy._meta.db_table)
        rows = list(
            DisclosurePolicy.objects.raw(
                f"SELECT * FROM {table} WHERE id = %s FOR SHARE", [policy_id]
            )
        )
    else:  # SQLite serialises writers: no row locks to take
        rows = list(DisclosurePolicy.objects.filter(pk=policy_id))
    if not rows:
        raise ValidationFailed("That disclosure policy no longer exists.", field="policy")
    return rows[0]


def _days(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_DAYS:
        raise ValidationFailed(
            f"The {name.replace('_', ' ')} must be a whole number of days from 0 to {MAX_DAYS}.",
            field=name,
        )
    return value


def _clean(policy: DisclosurePolicy, changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(str(k) for k in changes if k not in _EDITABLE)
    if unknown:
        raise ValidationFailed(f"Unknown policy field(s): {', '.join(unknown)}.", field=unknown[0])
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in ("name", "description"):
            out[name] = clean_text(
                value, model=DisclosurePolicy, field=name, required=name == "name"
            )
        elif name == "business_days":
            if not isinstance(value, bool):
                raise ValidationFailed("Business days is yes or no.", field=name)
            out[name] = value
        else:
            out[name] = _days(name, value)
    if "name" in out and (
        DisclosurePolicy.objects.filter(name=out["name"]).exclude(pk=policy.pk).exists()
    ):
        raise ValidationFailed(f"A policy named {out['name']!r} exists already.", field="name")
    return out


@validated
def edit_policy(
    *, actor: User, policy: DisclosurePolicy, changes: Mapping[str, Any]
) -> DisclosurePolicy:
    """Change a disclosure policy (admins only) and return it.

    When its terms (days, grace, business days) change, every case under it
    that is not closed runs under the new terms from now on: each gets a
    ``policy_terms_changed`` event (the policy, the terms before and after,
    the fields changed) and its stored next deadline follows, all in one
    transaction with the policy's row. Closed cases keep their terms. Raises
    NotPermitted for anyone but an admin, ValidationFailed for a bad value,
    LedgerMismatch when one of the cases no longer matches its ledger; then
    nothing is changed.
    """
    access.require(actor, access.Action.EDIT_POLICY)
    with transaction.atomic():
        locked = DisclosurePolicy.objects.select_for_update().filter(pk=policy.pk).first()
        if locked is None:
            raise ValidationFailed("That disclosure policy no longer exists.", field="policy")
        cleaned = _clean(locked, changes)
        before = policy_terms(locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        if cleaned:
            locked.save(update_fields=list(cleaned))
        after = policy_terms(locked)
        if after != before:
            open_cases = locked.cases.filter(closed_at__isnull=True).order_by("pk")
            for pk in open_cases.values_list("pk", flat=True):
                _apply_terms(actor=actor, case_pk=pk, policy=locked, terms=after)
    for name in _EDITABLE:
        setattr(policy, name, getattr(locked, name))
    return locked


def _apply_terms(
    *, actor: User, case_pk: int, policy: DisclosurePolicy, terms: dict[str, Any]
) -> None:
    """Record ``terms`` on one case under ``policy`` (unless it left the
    policy or closed meanwhile, or has them already)."""
    with locked_case(
        Case(pk=case_pk), actor=actor, action="update_details", stage_checked=False
    ) as case:
        previous = recorded_terms(case)
        if case.policy_id != policy.pk or case.closed_at is not None or previous == terms:
            return
        set_recorded_terms(case, terms)
        case.save(update_fields=[*TERMS_COLUMNS, "updated_at"])
        append_event(
            case=case,
            kind=EventKind.POLICY_TERMS_CHANGED,
            actor=actor,
            payload={
                "policy": {"id": policy.pk, "name": policy.name},
                "from": previous,
                "to": terms,
                "changed": terms_differences(previous, terms),
            },
        )
