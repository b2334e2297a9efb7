"""Staff are told by e-mail when a stored evidence file fails its integrity
check: evidence.integrity writes the message to the transactional outbox in
the transaction that raises the alarm (comms.outbox), delivered after commit."""

from django.conf import settings
from django.core.mail import EmailMessage

from disclosure.accounts.models import Role
from disclosure.comms import outbox
from disclosure.comms.models import OutboxMessage, OutboxPurpose
from disclosure.comms.notices import active_staff, staff_link

from .models import IntegrityAlarm

# Who hears of every alarm, besides the case's assignee.
_ALARM_ROLES = (Role.ADMIN, Role.LEAD)


def alarm_recipients(alarm: IntegrityAlarm) -> list[str]:
    """Every active admin and lead of the firm with an address, and the
    case's assignee when they are active staff with one."""
    staff = active_staff()
    to = set(staff.filter(memberships__role__in=_ALARM_ROLES).values_list("email", flat=True))
    assignee = alarm.case.assignee
    if assignee is not None and staff.filter(pk=assignee.pk).exists():
        to.add(assignee.email)
    return sorted(to)


def queue_integrity_alarm(alarm: IntegrityAlarm) -> OutboxMessage | None:
    """Write the e-mail of ``alarm`` to the outbox inside the caller's
    transaction (sent after commit); None when nobody can be told."""
    to = alarm_recipients(alarm)
    if not to:
        return None
    case, evidence = alarm.case, alarm.evidence
    found = (
        "The file is missing from storage."
        if alarm.missing
        else f"The stored bytes hash to {alarm.found_sha256}."
    )
    message = EmailMessage(
        subject=f"[{case.reference}] Evidence integrity alarm: {evidence.original_name}",
        body=(
            f"Evidence file #{evidence.pk} of {case.reference} — {case.title}, "
            f"{evidence.original_name}, recorded with SHA-256 {evidence.sha256}, failed its "
            f"integrity check ({alarm.detected_by}, {alarm.detected_at:%Y-%m-%d %H:%M} UTC).\n"
            f"{found}\n\n"
            "It is no longer served to anyone. Restore the file from a copy whose SHA-256 "
            "matches; the next check closes the alarm.\n\n"
            f"Evidence of the case: {staff_link(case, 'evidence')}\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=to,
        headers={"Auto-Submitted": "auto-generated"},
    )
    return outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message, case=case)
