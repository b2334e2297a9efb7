"""A vendor's own "secured" is the vendor's claim, not a re-test: it is
shown as "Secured — claimed by the vendor, not re-tested" on the staff case
page and in the portal until staff confirm it by a re-test
(``services.confirm_secured``).

Everything is derived from the ledger, no column: the claim is the
``stage_changed`` event of the ``secured`` milestone recorded on the
vendor's confirmation (``basis`` ``vendor_confirmation``: the vendor
contact's own action, or staff recording the vendor's message); the
confirmation is a later ``correction`` of that event whose payload has
``confirms`` = ``CONFIRMS`` (with the re-test result as its statement).
"""

from typing import Any

from django.db.models import Exists, IntegerField, OuterRef
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from disclosure.ledger.models import CaseEvent, EventKind

from .models import Case
from .stages import Stage

CONFIRMS = "vendor_secured_claim"
LABEL = "Secured — claimed by the vendor, not re-tested"
NOTE = "Claimed by the vendor, not re-tested"


def is_vendor_claim(payload: dict[str, Any]) -> bool:
    """Whether a ``stage_changed`` payload records 'secured' on the vendor's word."""
    return (
        payload.get("milestone") == Stage.SECURED and payload.get("basis") == "vendor_confirmation"
    )


def secured_event(case: Case) -> CaseEvent | None:
    """The event that recorded ``case``'s 'secured' milestone (one query), or None."""
    return (
        CaseEvent.objects.filter(
            case=case, kind=EventKind.STAGE_CHANGED, payload__milestone=Stage.SECURED
        )
        .order_by("-seq")
        .first()
    )


def confirmation_of(event: CaseEvent) -> CaseEvent | None:
    """The staff re-test confirming the claim ``event`` (one query), or None."""
    return (
        CaseEvent.objects.filter(
            case_id=event.case_id,
            kind=EventKind.CORRECTION,
            payload__corrects_seq=event.seq,
            payload__confirms=CONFIRMS,
        )
        .order_by("seq")
        .first()
    )


def unconfirmed_claim(case: Case) -> CaseEvent | None:
    """The event of ``case``'s 'secured' when it is the vendor's claim that
    staff have not confirmed yet, else None: no query for a case not
    secured, one otherwise (the pages call this)."""
    if case.secured_at is None:
        return None
    confirmed = CaseEvent.objects.annotate(
        corrects=Cast(KT("payload__corrects_seq"), IntegerField())  # jsonb = integer: no
    ).filter(
        case_id=OuterRef("case_id"),
        kind=EventKind.CORRECTION,
        corrects=OuterRef("seq"),
        payload__confirms=CONFIRMS,
    )
    return (
        CaseEvent.objects.filter(
            case=case,
            kind=EventKind.STAGE_CHANGED,
            payload__milestone=Stage.SECURED,
            payload__basis="vendor_confirmation",
        )
        .exclude(Exists(confirmed))
        .order_by("-seq")
        .first()
    )
