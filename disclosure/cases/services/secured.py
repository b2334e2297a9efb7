"""Staff confirm a vendor's own "secured" by re-testing it (issue 17: a
vendor's "secured" is shown as claimed by the vendor, not re-tested, until
staff confirm it; ``cases.secured_claim``)."""

from collections.abc import Sequence
from datetime import datetime

from disclosure.accounts.models import User
from disclosure.comms import notices
from disclosure.core.errors import TransitionNotAllowed
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile, write_evidence_files
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.services import append_event

from ..guards import check_occurred_at, locked_case
from ..models import Case
from ..secured_claim import CONFIRMS, confirmation_of, is_vendor_claim, secured_event

REASON = "Re-tested by the firm: the vendor's claim that the asset is secured is confirmed."


@validated
def confirm_secured(
    *,
    actor: User,
    case: Case,
    retest_result: str,
    evidence: Sequence[IncomingFile] = (),
    occurred_at: datetime | None = None,
) -> CaseEvent:
    """Confirm, by a re-test, the 'secured' that the vendor claimed on
    ``case``: a ``correction`` of the milestone's event (vendor-visible as
    that event is), with the re-test result as its statement and the
    re-test files as evidence. Staff who may correct events only (the
    table's ``correct_event``). Refused (TransitionNotAllowed) when the case
    was not recorded as secured, was secured on a re-test, or the claim is
    confirmed already. ``occurred_at``: when the re-test ran (now by
    default), not before the asset was recorded secured, not in the future.
    """
    with locked_case(case, actor=actor, action="correct_event") as locked:
        event = secured_event(locked) if locked.secured_at is not None else None
        if event is None:
            raise TransitionNotAllowed(f"{locked.reference} is not recorded as secured.")
        if not is_vendor_claim(event.payload):
            raise TransitionNotAllowed(
                f"{locked.reference} was recorded as secured on a re-test already."
            )
        done = confirmation_of(event)
        if done is not None:
            raise TransitionNotAllowed(
                f"The vendor's 'secured' on {locked.reference} was confirmed already "
                f"(event #{done.seq})."
            )
        result = clean_text(
            retest_result, field="retest_result", required=True,
            message="Say what the re-test showed.",
        )  # fmt: skip
        at = check_occurred_at(
            occurred_at or now(), not_before=locked.secured_at, what="the re-test",
            since="the asset was recorded as secured",
        )  # fmt: skip
        files = write_evidence_files(
            case=locked,
            actor=actor,
            files=[f.as_kind(EvidenceKind.RETEST_RESULT) for f in evidence],
        )
        correction = append_event(
            case=locked,
            kind=EventKind.CORRECTION,
            actor=actor,
            occurred_at=at,
            payload={
                "corrects_seq": event.seq,
                "corrects_hash": event.hash,
                "reason": REASON,
                "statement": result,
                "confirms": CONFIRMS,
                "evidence": [f.sha256 for f in files],
            },
            internal=event.internal,
        )
        notices.staff_shared(locked, actor, "secured_confirmed", result)
        return correction
