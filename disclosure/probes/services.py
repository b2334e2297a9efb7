"""Every write of the re-probes: staff's schedule edits and the two offers
(record 'secured' with a capture, open a follow-up from a re-exposure), and
the system's recording of each probe (runs.py fetches, this records).

Recording a probe (``record_outcome``), under the case's lock, in one
transaction: the capture as an internal evidence file (hashed, in the
ledger), the result row, and when the exposure status changes a
``probe_status_changed`` event; a 'public' answer after 'secured' raises the
re-exposure alarm (``reexposure_detected``, mail to the case's staff) once,
until a follow-up case is opened from it. A first 'no longer public' before
'secured' tells the staff, who may record 'secured' with that capture.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases import services as case_services
from disclosure.cases.guards import locked_case, system_locked_case
from disclosure.cases.models import Case
from disclosure.comms import notices
from disclosure.comms.inbound import mail_account
from disclosure.core.errors import ValidationFailed
from disclosure.core.guarded_http import check_url
from disclosure.core.timeutils import iso_utc, now
from disclosure.core.validation import clean_text, validated
from disclosure.evidence.models import EvidenceKind
from disclosure.evidence.services import IncomingFile, write_evidence
from disclosure.evidence.storage import open_blob
from disclosure.ledger.models import EventKind
from disclosure.ledger.services import append_event

from .fetch import Outcome
from .models import ProbeResult, ProbeSchedule, Verdict

MAX_INTERVAL_HOURS = 24 * 30
# The lock the system's probe recording takes: an action every stage allows
# and no legal hold blocks (the recording changes no stage).
SYSTEM_LOCK_ACTION = "set_legal_hold"
# Who may change a case's re-probes: those who edit its details.
CHANGE_ACTION = "update_details"


def default_interval() -> int:
    return int(settings.DISCLOSURE_PROBE_INTERVAL_HOURS)


def schedule_for(case: Case) -> ProbeSchedule:
    """``case``'s schedule, created with the defaults (due now) if it has
    none. Call with the case locked."""
    schedule, _ = ProbeSchedule.objects.select_for_update().get_or_create(
        case=case, defaults={"interval_hours": default_interval(), "next_run_at": now()}
    )
    return schedule


def _settings_of(schedule: ProbeSchedule) -> dict:
    return {
        "paused": schedule.paused,
        "interval_hours": schedule.interval_hours,
        "url": schedule.url,
    }


@validated
def update_schedule(
    *, actor: User, case: Case, paused: bool, interval_hours: int, url: str = ""
) -> ProbeSchedule:
    """Pause or resume ``case``'s re-probes, set their interval (1 to 720
    hours) and an explicit probe URL (blank: derived from the asset; checked
    by the guarded client's rules, no network). Staff who edit case details
    (analyst, lead, admin). Appends ``probe_settings_changed`` (internal)
    with the old and new settings; a call that changes nothing writes
    nothing. The next probe is due one interval after the last (now if
    that has passed)."""
    with locked_case(case, actor=actor, action=CHANGE_ACTION, stage_checked=False) as locked:
        if not 1 <= interval_hours <= MAX_INTERVAL_HOURS:
            raise ValidationFailed(
                f"Probe every 1 to {MAX_INTERVAL_HOURS} hours.", field="interval_hours"
            )
        url = clean_text(url, field="url")
        if url:
            check_url(url)  # FetchRefused names the field
            if len(url) > 1000:
                raise ValidationFailed("The probe URL is too long.", field="url")
        schedule = schedule_for(locked)
        before = _settings_of(schedule)
        schedule.paused, schedule.interval_hours, schedule.url = paused, interval_hours, url
        after = _settings_of(schedule)
        if after == before:
            return schedule
        current = now()
        base = schedule.last_run_at
        schedule.next_run_at = (
            current if base is None else max(current, base + timedelta(hours=interval_hours))
        )
        schedule.save()
        append_event(
            case=locked,
            kind=EventKind.PROBE_SETTINGS_CHANGED,
            actor=actor,
            payload={"from": before, "to": after},
            internal=True,
        )
        return schedule


def probe_account() -> User:
    """The system's own account (inactive, no password, no membership),
    which files what the system records: received mail and probe captures."""
    return mail_account()


def _capture_file(case: Case, outcome: Outcome) -> IncomingFile:
    stamp = outcome.probed_at.strftime("%Y%m%dT%H%M%S%fZ")
    verdict = Verdict(outcome.verdict)
    return IncomingFile(
        name=f"probe-{case.reference}-{stamp}.json",
        stream=io.BytesIO(outcome.capture(reference=case.reference)),
        kind=EvidenceKind.EXPOSURE_CAPTURE
        if verdict == Verdict.PUBLIC
        else EvidenceKind.RETEST_RESULT,
        description=f"Re-probe of {outcome.url[:500]}: {verdict.label}"
        + (f" (HTTP {outcome.http_status})" if outcome.http_status else ""),
        captured_at=outcome.probed_at,
        shared=False,
    )


def record_outcome(
    *,
    case: Case,
    outcome: Outcome,
    requested_by: User | None = None,
    system_account: User | None = None,
) -> ProbeResult:
    """Record one probe of ``case`` (the system's write; see the module
    docstring for everything it guarantees). An ``error`` outcome is kept
    as a result row without evidence and changes no status. The capture is
    filed by the system's account (``system_account``, looked up when not
    given: a run looks it up once)."""
    with system_locked_case(case, action=SYSTEM_LOCK_ACTION) as locked:
        schedule = schedule_for(locked)
        evidence = None
        if outcome.verdict != Verdict.ERROR:
            evidence = write_evidence(
                case=locked,
                actor=system_account or probe_account(),
                file=_capture_file(locked, outcome),
            )
        result = ProbeResult.objects.create(
            case=locked,
            probed_at=outcome.probed_at,
            url=outcome.url[:1000],
            address=outcome.address,
            port=outcome.port,
            http_status=outcome.http_status,
            reason=outcome.reason,
            headers=outcome.selected_headers,
            redirects=list(outcome.redirects),
            sample_sha256=outcome.sample_sha256,
            sample_bytes=outcome.sample_bytes,
            truncated=outcome.truncated,
            elapsed_ms=min(outcome.elapsed_ms, 2**31 - 1),
            verdict=outcome.verdict,
            error=outcome.error[:500],
            evidence=evidence,
            requested_by=requested_by,
        )
        schedule.last_run_at = outcome.probed_at
        schedule.last_result = result
        schedule.next_run_at = outcome.probed_at + timedelta(hours=schedule.interval_hours)
        if outcome.verdict != Verdict.ERROR and outcome.verdict != schedule.status:
            _status_changed(locked, schedule, result)
        if (
            outcome.verdict == Verdict.PUBLIC
            and locked.secured_at is not None
            and outcome.probed_at >= locked.secured_at
            and schedule.reexposure_result_id is None
            and schedule.follow_up_id is None
        ):
            _reexposed(locked, schedule, result)
        schedule.save()
        return result


def _result_payload(result: ProbeResult) -> dict:
    return {
        "result_id": result.pk,
        "url": result.url,
        "probed_at": result.probed_at,
        "address": result.address,
        "http_status": result.http_status,
        "body_sample_sha256": result.sample_sha256,
        "evidence_sha256": result.evidence.sha256 if result.evidence else None,
    }


def _status_changed(case: Case, schedule: ProbeSchedule, result: ProbeResult) -> None:
    before = schedule.status
    schedule.status, schedule.status_since = result.verdict, result.probed_at
    schedule.status_result = result
    append_event(
        case=case,
        kind=EventKind.PROBE_STATUS_CHANGED,
        actor=None,
        occurred_at=result.probed_at,
        payload={"from": before or None, "to": result.verdict, **_result_payload(result)},
        internal=True,
    )
    if result.verdict == Verdict.NOT_PUBLIC and case.secured_at is None:
        notices.notify_staff(
            case,
            what=f"A re-probe of {case.reference}'s asset found it no longer public.",
            subject="Asset no longer public",
            body=(
                f"{result.url} answered HTTP {result.http_status} at {iso_utc(result.probed_at)}. "
                "You can record 'secured' with this capture as the re-test on the case page."
            ),
            link=notices.staff_link(case),
        )


def _reexposed(case: Case, schedule: ProbeSchedule, result: ProbeResult) -> None:
    schedule.reexposure_result = result
    append_event(
        case=case,
        kind=EventKind.REEXPOSURE_DETECTED,
        actor=None,
        occurred_at=result.probed_at,
        payload={"secured_at": case.secured_at, **_result_payload(result)},
        internal=True,
    )
    notices.notify_staff(
        case,
        what=f"Re-exposure: {case.reference}'s asset is public again after it was secured.",
        subject="Re-exposure detected",
        body=(
            f"{result.url} answered HTTP {result.http_status} at {iso_utc(result.probed_at)}. "
            "Open a follow-up case from the case page."
        ),
        link=notices.staff_link(case),
    )


def _result_of(case: Case, result: ProbeResult, verdict: Verdict) -> ProbeResult:
    """``result`` re-read as a result of ``case`` with ``verdict`` and its
    capture, or ValidationFailed."""
    fresh = (
        ProbeResult.objects.select_related("evidence")
        .filter(pk=result.pk, case_id=case.pk, verdict=verdict, evidence__isnull=False)
        .first()
    )
    if fresh is None:
        raise ValidationFailed(
            f"That is not a '{verdict.label.lower()}' re-probe of {case.reference}.",
            field="result",
        )
    return fresh


def retest_text(result: ProbeResult) -> str:
    """The re-test result a capture stands for, in words."""
    return (
        f"Re-probe of {result.url} at {iso_utc(result.probed_at)} from {result.address}: "
        f"HTTP {result.http_status} {result.reason}".rstrip()
        + f", no longer public. Capture SHA-256 {result.evidence.sha256}."
    )


@validated
def record_secured_from_probe(
    *, actor: User, case: Case, result: ProbeResult, note: str = ""
) -> Case:
    """Record 'secured' on ``case`` (``cases.services.secure``, with all its
    rules: who, stage, time) at the time of the 'no longer public' re-probe
    ``result``, with that re-probe as the re-test: its words as the re-test
    result, and a re-test report (the capture's content and its SHA-256) as
    the re-test evidence. NotFound for a case the actor may not see."""
    access.require(actor, access.Action.VIEW_INTERNAL, case)
    with transaction.atomic():
        result = _result_of(case, result, Verdict.NOT_PUBLIC)
        with open_blob(result.evidence.sha256) as blob:
            capture = blob.read()
        report = (
            b'{"capture_evidence_sha256": "' + result.evidence.sha256.encode() + b'",\n'
            b' "capture": ' + capture + b"}\n"
        )
        return case_services.secure(
            actor=actor,
            case=case,
            occurred_at=result.probed_at,
            retest_result=retest_text(result),
            evidence=[
                IncomingFile(
                    name=f"retest-{case.reference}-probe-{result.pk}.json",
                    stream=io.BytesIO(report),
                    kind=EvidenceKind.RETEST_RESULT,
                    description="Re-probe capture recorded as the re-test",
                    captured_at=result.probed_at,
                )
            ],
            note=note,
        )


@validated
def open_follow_up_from_probe(*, actor: User, case: Case, result: ProbeResult) -> Case:
    """Open the linked follow-up case (``cases.services.open_follow_up``,
    with its rules) for the re-exposure that the 'public' re-probe
    ``result`` found after 'secured': found at the probe's time, the capture
    as its exposure evidence. Clears ``case``'s re-exposure alarm; the
    follow-up is re-probed on its own from then on."""
    access.require(actor, access.Action.VIEW_INTERNAL, case)
    with transaction.atomic():
        result = _result_of(case, result, Verdict.PUBLIC)
        with open_blob(result.evidence.sha256) as blob:
            capture = blob.read()
        follow_up = case_services.open_follow_up(
            actor=actor,
            case=case,
            found_at=result.probed_at,
            how_found=(
                f"Re-probe of {result.url} at {iso_utc(result.probed_at)}: HTTP "
                f"{result.http_status}, public again after the asset of {case.reference} "
                f"was secured (capture SHA-256 {result.evidence.sha256})."
            ),
            exposure_evidence=[
                IncomingFile(
                    name=f"probe-{case.reference}-{result.pk}.json",
                    stream=io.BytesIO(capture),
                    kind=EvidenceKind.EXPOSURE_CAPTURE,
                    description=f"Re-probe of {case.reference}'s asset, public again",
                    captured_at=result.probed_at,
                )
            ],
        )
        schedule = ProbeSchedule.objects.select_for_update().get(case=case)
        schedule.follow_up, schedule.reexposure_result = follow_up, None
        schedule.save(update_fields=["follow_up", "reexposure_result", "updated_at"])
        ProbeSchedule.objects.get_or_create(
            case=follow_up,
            defaults={
                "interval_hours": schedule.interval_hours,
                "url": schedule.url,
                "next_run_at": now(),
            },
        )
        return follow_up


def window_end(secured_at: datetime) -> datetime:
    """Until when a secured asset is still re-probed."""
    return secured_at + timedelta(days=settings.DISCLOSURE_PROBE_AFTER_SECURED_DAYS)
