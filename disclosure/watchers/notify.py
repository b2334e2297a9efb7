"""Telling staff what the deadline pass recorded, for many cases at once.

The same recipients as ``comms.notices.staff_recipients`` (the assignee when
active staff with an address, else the case's watchers, else every active
lead), read for a whole batch of cases in three queries. Each recipient gets
one ``Notice`` per case (``comms.models.Notice``: their digest lists it when
they chose one) and, when they want mail at once, ONE message per batch
through the transactional outbox listing everything of theirs the batch
recorded: a pass that finds forty overdue cases sends a lead one mail, not
forty. Everything is written in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMessage

from disclosure.accounts.models import Role, User
from disclosure.cases.models import Case
from disclosure.comms import outbox
from disclosure.comms.models import Notice, OutboxPurpose
from disclosure.comms.notices import active_staff, deliverable, staff_link
from disclosure.core.timeutils import now

# Most items listed in one mail; the rest are on the dashboard (and each has its notice).
MAIL_MAX_ITEMS = 100


@dataclass(frozen=True)
class Item:
    """One thing to tell about one case."""

    case: Case
    subject: str  # without the case reference
    body: str


def recipients(cases: Sequence[Case]) -> dict[int, list[User]]:
    """Case id -> who on the firm's side hears of it (as
    ``comms.notices.staff_recipients`` with no actor, and like it leaving out
    anyone whose address bounced: ``comms.notices.deliverable``), in four queries."""
    # A bounced address is left out (comms.notices.deliverable): the next in line hears.
    staff = {u.pk: u for u in deliverable(active_staff())}
    leads = sorted(
        set(active_staff().filter(memberships__role=Role.LEAD).values_list("pk", flat=True))
    )
    watching: dict[int, list[int]] = defaultdict(list)
    through = Case.watchers.through
    rows = through.objects.filter(case_id__in=[c.pk for c in cases]).values_list(
        "case_id", "user_id"
    )
    for case_id, user_id in rows.order_by("user_id"):
        if user_id in staff:
            watching[case_id].append(user_id)
    found = {}
    for case in cases:
        ids = [case.assignee_id] if case.assignee_id in staff else watching.get(case.pk) or leads
        found[case.pk] = [staff[pk] for pk in ids if pk in staff]
    return found


def tell(items: Iterable[Item]) -> list[Notice]:
    """Write the notices of ``items`` and one mail per recipient who wants
    mail at once; returns the notices."""
    items = list(items)
    if not items:
        return []
    at = now()
    who = recipients(list({i.case.pk: i.case for i in items}.values()))
    notices, mail = [], defaultdict(list)
    for item in items:
        subject = f"[{item.case.reference}] {item.subject}"
        link = staff_link(item.case)
        for user in who[item.case.pk]:
            immediate = user.mail_delivery != User.MailDelivery.DIGEST
            notices.append(
                Notice(
                    user=user, case=item.case, subject=subject[:500], body=item.body,
                    link=link[:2000], created_at=at, immediate=immediate,
                )
            )  # fmt: skip
            if immediate:
                mail[user.pk].append((user, item, subject, link))
    written = Notice.objects.bulk_create(notices, batch_size=2000)
    for entries in mail.values():
        _mail(entries)
    return written


def _mail(entries: list[tuple[User, Item, str, str]]) -> None:
    user = entries[0][0]
    cases = {item.case.pk for _, item, _, _ in entries}
    if len(entries) == 1:
        _, item, subject, link = entries[0]
        text = f"{item.body.rstrip()}\n\n{link}\n"
    else:
        subject = f"[{settings.DISCLOSURE_FIRM_NAME}] Deadlines: {len(entries)} notices"
        lines = [f"{len(entries)} deadline notices on {len(cases)} of your cases:", ""]
        for n, (_, _item, item_subject, link) in enumerate(entries[:MAIL_MAX_ITEMS], 1):
            lines += [f"{n}. {item_subject}", f"   {link}", ""]
        if len(entries) > MAIL_MAX_ITEMS:
            lines.append(f"... and {len(entries) - MAIL_MAX_ITEMS} more: see the dashboard.")
        text = "\n".join(lines) + "\n"
    message = EmailMessage(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[user.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    case = entries[0][1].case if len(cases) == 1 else None
    outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message, case=case)
