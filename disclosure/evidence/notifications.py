"""Staff are told by e-mail when a stored evidence file fails its integrity
check (evidence.integrity queues this after the alarm commits)."""

from django.core.mail import send_mail

from disclosure.accounts.models import STAFF_ROLES, Organization, Role, User
from disclosure.comms.notifications import site_url

from .models import IntegrityAlarm

# Who hears of every alarm, besides the case's assignee.
_ALARM_ROLES = (Role.ADMIN, Role.LEAD)


def alarm_recipients(alarm: IntegrityAlarm) -> list[str]:
    """Every active admin and lead of the firm with an address, and the
    case's assignee when they are active staff with one."""
    staff = User.objects.filter(
        is_active=True,
        memberships__organization__kind=Organization.Kind.FIRM,
        memberships__role__in=STAFF_ROLES,
    ).exclude(email="")
    to = set(staff.filter(memberships__role__in=_ALARM_ROLES).values_list("email", flat=True))
    assignee = alarm.case.assignee
    if assignee is not None and staff.filter(pk=assignee.pk).exists():
        to.add(assignee.email)
    return sorted(to)


def send_integrity_alarm(alarm_id: int) -> int:
    """Send the e-mail of integrity alarm ``alarm_id``; the number of recipients."""
    alarm = (
        IntegrityAlarm.objects.select_related("case", "case__assignee", "evidence")
        .filter(pk=alarm_id)
        .first()
    )
    if alarm is None:
        return 0
    to = alarm_recipients(alarm)
    if not to:
        return 0
    case, evidence = alarm.case, alarm.evidence
    found = (
        "The file is missing from storage."
        if alarm.missing
        else f"The stored bytes hash to {alarm.found_sha256}."
    )
    send_mail(
        subject=f"[{case.reference}] Evidence integrity alarm: {evidence.original_name}",
        message=(
            f"Evidence file #{evidence.pk} of {case.reference} — {case.title}, "
            f"{evidence.original_name}, recorded with SHA-256 {evidence.sha256}, failed its "
            f"integrity check ({alarm.detected_by}, {alarm.detected_at:%Y-%m-%d %H:%M} UTC).\n"
            f"{found}\n\n"
            "It is no longer served to anyone. Restore the file from a copy whose SHA-256 "
            "matches; the next check closes the alarm.\n\n"
            f"Case page: {site_url()}{case.get_absolute_url()}\n"
        ),
        from_email=None,
        recipient_list=to,
    )
    return len(to)
