"""Staff are told by e-mail when a vendor contact sends a message.

``queue_vendor_message_notice`` is called by the comms service inside its
transaction; the mail is queued only once that transaction commits (a
rolled-back message tells nobody), as a Celery task that runs eagerly when
no broker is configured.
"""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from disclosure.accounts.models import STAFF_ROLES, Organization, Role, User

from .models import Communication

# Who hears of a vendor's message on an unassigned case.
_NOTIFIED_ROLES = (Role.LEAD, Role.ANALYST, Role.ADMIN)


def queue_vendor_message_notice(comm: Communication) -> None:
    """After commit, queue the e-mail telling staff about ``comm``."""
    from .tasks import send_vendor_message_notice  # tasks import this module

    # robust: a failing mail server is logged; the vendor's committed message
    # never turns into an error page for them.
    transaction.on_commit(lambda: send_vendor_message_notice.delay(comm.pk), robust=True)


def recipients_for(comm: Communication) -> list[str]:
    """The case's assignee when it has one with an address (and is still
    active staff), else every active lead, analyst and admin with one."""
    assignee = comm.case.assignee
    staff = User.objects.filter(
        is_active=True,
        memberships__organization__kind=Organization.Kind.FIRM,
        memberships__role__in=STAFF_ROLES,
    ).exclude(email="")
    if assignee is not None and staff.filter(pk=assignee.pk).exists():
        return [assignee.email]
    return sorted(
        set(staff.filter(memberships__role__in=_NOTIFIED_ROLES).values_list("email", flat=True))
    )


def site_url() -> str:
    """The site's address for links in mail (``DISCLOSURE_SITE_URL``)."""
    return getattr(settings, "DISCLOSURE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def send_vendor_message_notice(comm_id: int) -> int:
    """Send the notice of communication ``comm_id``; the number of recipients."""
    comm = (
        Communication.objects.select_related("case", "case__vendor", "case__assignee", "logged_by")
        .filter(pk=comm_id)
        .first()
    )
    if comm is None:
        return 0
    to = recipients_for(comm)
    if not to:
        return 0
    case = comm.case
    body = comm.body if len(comm.body) <= 2000 else comm.body[:2000] + "\n[…]"
    send_mail(
        subject=(
            f"[{case.reference}] Message from {case.vendor.name}: {comm.subject or '(no subject)'}"
        ),
        message=(
            f"{comm.logged_by.display_name()} ({case.vendor.name}) sent a message on "
            f"{case.reference} — {case.title} through the {comm.get_channel_display().lower()}.\n\n"
            f"{body}\n\n"
            f"Case page: {site_url()}{case.get_absolute_url()}\n"
        ),
        from_email=None,
        recipient_list=to,
    )
    return len(to)
