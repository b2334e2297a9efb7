"""Stage transitions: notify, secure, record deletion, publish, close; and
the vendor's acknowledgement (not a stage).

Each function locks the case, checks the actor's role and the transitions
table, checks the time, writes its records and ledger events, and commits
all of it or nothing.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from disclosure.accounts.models import Role, User
from disclosure.comms import notices
from disclosure.comms.models import Communication, Direction
from disclosure.comms.services import write_communication
from disclosure.core.errors import (
    EvidenceRequired,
    NotPermitted,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.core.validation import check_url, clean_text, validated
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile, write_attestation, write_evidence_files
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.services import append_event

from .. import access, transitions
from ..guards import check_occurred_at, locked_case, previous_stage_time, require_stage
from ..models import Case
from ..stages import STAGE_TIME_FIELD, CloseReason, Stage, stage_index

MIN_JUSTIFICATION = 20


def enter_stage(
    *,
    case: Case,
    actor,
    target: Stage,
    occurred_at: datetime,
    payload: dict[str, Any],
    note: str = "",
    note_shared: bool = False,
) -> CaseEvent:
    """Record the milestone ``target`` on the locked ``case`` with its event.

    The case moves to ``target`` unless it is further along already (a late
    milestone after an early publication): nothing moves backwards, so then
    only the milestone's time is set and the event says ``late``. A ``note``
    is internal (its own internal event) unless ``note_shared``.
    """
    source = Stage(case.stage)
    late = stage_index(target) < stage_index(source)
    setattr(case, STAGE_TIME_FIELD[target], occurred_at)
    if not late:
        case.stage = target
    case.save(update_fields=["stage", STAGE_TIME_FIELD[target], "updated_at"])
    event = append_event(
        case=case,
        kind=EventKind.STAGE_CHANGED,
        actor=actor,
        occurred_at=occurred_at,
        payload={
            "from": source,
            "to": case.stage,
            "milestone": target,
            "late": late,
            **payload,
            **({"note": note} if note and note_shared else {}),
        },
    )
    record_note(case=case, actor=actor, note=note, shared=note_shared, about=event)
    notices.stage_recorded(case, actor, target, note if note_shared else "")
    return event


def record_note(*, case: Case, actor, note: str, shared: bool, about: CaseEvent) -> None:
    """A note on event ``about`` that is not shared with the vendor becomes its
    own internal event; a shared one is in ``about``'s payload already."""
    if note and not shared:
        append_event(
            case=case,
            kind=EventKind.NOTE_ADDED,
            actor=actor,
            occurred_at=about.occurred_at,
            payload={"about_seq": about.seq, "note": note},
            internal=True,
        )


@validated
def notify_vendor(
    *,
    actor: User,
    case: Case,
    occurred_at: datetime,
    channel: str,
    sender: str,
    recipients: Sequence[str | None],
    subject: str,
    body: str,
    attachments: Sequence[IncomingFile] = (),
    note: str = "",
    note_shared: bool = False,
) -> Case:
    """Record that the first notice reached the vendor: the notice is logged as
    an outbound communication and the case enters ``vendor_notified``."""
    with locked_case(case, actor=actor, action="notify_vendor") as locked:
        note = clean_text(note, field="note")
        check_occurred_at(
            occurred_at,
            not_before=previous_stage_time(locked, Stage.VENDOR_NOTIFIED),
            what="the notification",
        )
        notice = write_communication(
            case=locked,
            actor=actor,
            direction=Direction.OUTBOUND,
            channel=channel,
            sender=sender,
            recipients=recipients,
            subject=subject,
            body=body,
            occurred_at=occurred_at,
            attachments=attachments,
        )
        enter_vendor_notified(
            case=locked, actor=actor, notice=notice, note=note, note_shared=note_shared
        )
        return locked


def enter_vendor_notified(
    *, case: Case, actor, notice: Communication, note: str = "", note_shared: bool = False
) -> CaseEvent:
    """Enter ``vendor_notified`` on the locked ``case`` with ``notice`` (an
    outbound communication just written on it) as the notice, at the
    notice's time. The caller checked the stage, the actor and the time
    (``notify_vendor``, ``comms.outbound.send_case_mail``)."""
    return enter_stage(
        case=case,
        actor=actor,
        target=Stage.VENDOR_NOTIFIED,
        occurred_at=notice.occurred_at,
        payload={
            "notice_communication_id": notice.pk,
            "channel": notice.channel,
            "recipients": notice.recipients,
        },
        note=note,
        note_shared=note_shared,
    )


@validated
def acknowledge(
    *, actor: User, case: Case, occurred_at: datetime, note: str = "", note_shared: bool = False
) -> Case:
    """Record when the vendor acknowledged the notice (once per case). A note
    is internal unless ``note_shared`` (a vendor contact's own note is shared)."""
    with locked_case(case, actor=actor, action="acknowledge") as locked:
        note = clean_text(note, field="note")
        check_occurred_at(
            occurred_at,
            not_before=locked.vendor_notified_at,
            what="the acknowledgement",
            since="the vendor was notified",
        )
        locked.vendor_acknowledged_at = occurred_at
        locked.save(update_fields=["vendor_acknowledged_at", "updated_at"])
        shared = note_shared or access.role_on(actor, locked) == Role.VENDOR_CONTACT
        event = append_event(
            case=locked,
            kind=EventKind.VENDOR_ACKNOWLEDGED,
            actor=actor,
            occurred_at=occurred_at,
            payload={"note": note} if note and shared else {},
        )
        record_note(case=locked, actor=actor, note=note, shared=shared, about=event)
        notices.vendor_acted(locked, actor, "acknowledge", note)
        return locked


@validated
def secure(
    *,
    actor: User,
    case: Case,
    occurred_at: datetime,
    retest_result: str = "",
    evidence: Sequence[IncomingFile] = (),
    confirmation: Communication | None = None,
    note: str = "",
    note_shared: bool = False,
) -> Case:
    """Record that the asset is no longer publicly reachable.

    Needs a re-test result or the vendor's confirmation: an inbound
    communication of this case, or the vendor contact's own action.
    """
    with locked_case(case, actor=actor, action="secure") as locked:
        note = clean_text(note, field="note")
        check_occurred_at(
            occurred_at,
            not_before=previous_stage_time(locked, Stage.SECURED),
            what="securing the asset",
        )
        by_vendor = access.role_on(actor, locked) == Role.VENDOR_CONTACT
        if confirmation is not None and (
            confirmation.case_id != locked.pk or confirmation.direction != Direction.INBOUND
        ):
            raise ValidationFailed(
                "The confirmation must be a message from the vendor logged on this case.",
                field="confirmation",
            )
        retest_result = clean_text(retest_result, field="retest_result")
        if not (retest_result or confirmation or by_vendor):
            raise EvidenceRequired(
                "Recording 'secured' needs a re-test result or the vendor's confirmation.",
                field="retest_result",
            )
        files = write_evidence_files(
            case=locked,
            actor=actor,
            files=[f.as_kind(EvidenceKind.RETEST_RESULT) for f in evidence],
        )
        basis = "retest" if retest_result else "vendor_confirmation"
        enter_stage(
            case=locked,
            actor=actor,
            target=Stage.SECURED,
            occurred_at=occurred_at,
            payload={
                "basis": basis,
                "retest_result": retest_result,
                "confirmation_communication_id": confirmation.pk if confirmation else None,
                "confirmed_by_vendor_contact": by_vendor,
                "evidence": [f.sha256 for f in files],
            },
            note=note,
            note_shared=note_shared or by_vendor,
        )
        notices.vendor_acted(locked, actor, "secure", note)
        return locked


@validated
def record_deletion(
    *,
    actor: User,
    case: Case,
    items: Sequence[Any] | None,  # objects; None or empty: EvidenceRequired
    method: str,
    tool: str,
    performed_by: User,
    performed_at: datetime,
    verification: str,
    verified_by: User | None = None,
    retained_metadata: Sequence[str] = (),
    retention_reason: str = "",
    evidence: Sequence[IncomingFile] = (),
    note: str = "",
    note_shared: bool = False,
) -> Case:
    """Record that the firm's copies are destroyed, with the attestation."""
    with locked_case(case, actor=actor, action="record_deletion") as locked:
        note = clean_text(note, field="note")
        check_occurred_at(
            performed_at,
            not_before=previous_stage_time(locked, Stage.DATA_DELETED),
            what="the deletion",
        )
        attestation = write_attestation(
            case=locked,
            actor=actor,
            items=items,
            method=method,
            tool=tool,
            performed_by=performed_by,
            performed_at=performed_at,
            verification=verification,
            verified_by=verified_by,
            retained_metadata=retained_metadata,
            retention_reason=retention_reason,
            evidence=evidence,
        )
        enter_stage(
            case=locked,
            actor=actor,
            target=Stage.DATA_DELETED,
            occurred_at=performed_at,
            payload={
                "attestation_id": attestation.pk,
                "attestation_sha256": attestation.content_sha256,
            },
            note=note,
            note_shared=note_shared,
        )
        return locked


@validated
def publish(
    *,
    actor: User,
    case: Case,
    occurred_at: datetime,
    url: str,
    title: str,
    override_justification: str = "",
) -> Case:
    """Record the public advisory. Before ``secured`` this needs a lead's
    override with a written justification, recorded as its own event."""
    with locked_case(case, actor=actor, action="publish", stage_checked=False) as locked:
        t = transitions.get("publish")
        justification = clean_text(override_justification, field="override_justification")
        require_stage(locked, "publish", with_override=True)
        override = locked.stage not in t.source
        if override:
            if not access.can_override(actor, "publish", locked):
                raise NotPermitted(
                    "Publishing before the asset is secured needs a lead's override."
                )
            if len(justification) < MIN_JUSTIFICATION:
                raise ValidationFailed(
                    "Publishing before the asset is secured needs a written justification "
                    f"of at least {MIN_JUSTIFICATION} characters.",
                    field="override_justification",
                )
        check_occurred_at(
            occurred_at,
            not_before=previous_stage_time(locked, Stage.PUBLISHED),
            what="the publication",
        )
        url = clean_text(
            url, model=Case, field="publication_url", name="url", label="advisory's URL"
        )
        url = check_url(url, field="url", label="advisory's URL")
        title = clean_text(
            title,
            model=Case,
            field="publication_title",
            name="title",
            label="advisory's title",
            required=True,
            message="The advisory needs a title.",
        )
        if override:
            append_event(
                case=locked,
                kind=EventKind.OVERRIDE_GRANTED,
                actor=actor,
                payload={
                    "action": "publish",
                    "stage": locked.stage,
                    "justification": justification,
                },
                internal=True,  # the vendor sees the publication, not the firm's reasoning
            )
        locked.publication_url, locked.publication_title = url, title
        locked.save(update_fields=["publication_url", "publication_title", "updated_at"])
        enter_stage(
            case=locked,
            actor=actor,
            target=Stage.PUBLISHED,
            occurred_at=occurred_at,
            payload={"url": url, "title": title, "override": override},
        )
        return locked


@validated
def close_case(
    *,
    actor: User,
    case: Case,
    reason: str,
    note: str = "",
    occurred_at: datetime | None = None,
    note_shared: bool = False,
) -> Case:
    """Close the case with a reason. A published case closes as published;
    'not published' and 'duplicate' need a note saying why (or of what).
    A legal hold blocks closing."""
    with locked_case(case, actor=actor, action="close") as locked:
        if reason not in CloseReason.values:
            raise ValidationFailed(f"Unknown close reason {reason!r}.", field="reason")
        note = clean_text(note, field="note")
        published = locked.stage == Stage.PUBLISHED
        if published != (reason == CloseReason.PUBLISHED):
            raise ValidationFailed(
                "A published case closes with reason 'published'."
                if published
                else "Only a published case can close with reason 'published'.",
                field="reason",
            )
        if reason in (CloseReason.NOT_PUBLISHED, CloseReason.DUPLICATE) and not note:
            raise ValidationFailed(
                "Say why the case is not published."
                if reason == CloseReason.NOT_PUBLISHED
                else "Name the case this one duplicates.",
                field="note",
            )
        occurred_at = check_occurred_at(
            occurred_at or now(),
            not_before=previous_stage_time(locked, Stage.CLOSED),
            what="closing",
        )
        locked.close_reason = reason
        locked.save(update_fields=["close_reason", "updated_at"])
        enter_stage(
            case=locked,
            actor=actor,
            target=Stage.CLOSED,
            occurred_at=occurred_at,
            payload={"reason": reason},
            note=note,
            note_shared=note_shared,
        )
        return locked
