"""Telling people what happened on their cases: staff of every vendor action,
vendor contacts of what staff share with them.

``notify_staff`` and ``notify_vendor_contacts`` are called by the services
INSIDE the transaction of the change: each writes one ``Notice`` row per
recipient and, for a recipient who chose immediate mail
(``User.mail_delivery``), one message through the transactional outbox
(``outbox.enqueue``). A change that rolls back tells nobody; the outbox
delivers after commit. Recipients who chose the daily digest get their
notices in one mail a day (comms.digest). Nobody whose address a delivery
report marked undeliverable is told (``deliverable``).

The services call the one-line helpers below (``vendor_acted``,
``staff_shared``, ``stage_recorded``), which decide whether an action is
the vendor's (tell staff) or the firm's (tell the vendor) and word it.

A vendor's mail never carries confidential content (message text, notes,
file names, figures, the case's title) unless its organization set
``mail_includes_content``; it always says what happened in general terms
and links to the case's page in the portal.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import QuerySet
from django.db.models.functions import Lower
from django.urls import NoReverseMatch, reverse

from disclosure.accounts.models import STAFF_ROLES, Organization, Role, User
from disclosure.cases.models import Case
from disclosure.core.timeutils import now

from . import outbox, runscope
from .models import Notice, OutboxPurpose, UndeliverableAddress

# Longest piece of a message, note or statement quoted in a notice.
QUOTE_MAX_CHARS = 2000


def site_url() -> str:
    """The site's address for links in mail (``DISCLOSURE_SITE_URL``)."""
    return getattr(settings, "DISCLOSURE_SITE_URL", "http://127.0.0.1:8000").rstrip("/")


def _path(name: str, fallback: str, **kwargs) -> str:
    """The site's URL ``name``; ``fallback`` where the URLs in use lack it
    (a change never fails for want of a link)."""
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return fallback


def staff_link(case, tab: str = "") -> str:
    """The absolute URL of ``case``'s staff page, on ``tab`` when given."""
    ref = case.reference
    if tab:
        path = _path("staff:case_tab", f"/cases/{ref}/{tab}/", reference=ref, tab=tab)
    else:
        path = _path("staff:case_detail", f"/cases/{ref}/", reference=ref)
    return site_url() + path


def portal_link(case, anchor: str = "") -> str:
    """The absolute URL of ``case``'s portal page, at ``#anchor`` when given."""
    ref = case.reference
    path = _path("portal:case_detail", f"/portal/cases/{ref}/", reference=ref)
    return site_url() + path + (f"#{anchor}" if anchor else "")


def quote(text: str) -> str:
    """``text`` cut to ``QUOTE_MAX_CHARS``."""
    text = (text or "").strip()
    return text if len(text) <= QUOTE_MAX_CHARS else text[:QUOTE_MAX_CHARS] + "\n[…]"


# --- recipients -----------------------------------------------------------------


def active_staff() -> QuerySet[User]:
    """Active members of the firm in a staff role, with an address."""
    return (
        User.objects.filter(
            is_active=True,
            memberships__organization__kind=Organization.Kind.FIRM,
            memberships__role__in=STAFF_ROLES,
        )
        .exclude(email="")
        .distinct()
    )


def staff_recipients(case, *, actor: User | None = None) -> list[User]:
    """Who on the firm's side hears of something on ``case``: its assignee
    (when active staff with an address), else its watchers (the same), else
    every active lead with an address; never ``actor``. Read once per mail
    fetch (``comms.runscope``) for the same case, assignee and actor."""
    key = ("staff_recipients", case.pk, case.assignee_id, getattr(actor, "pk", None))
    return list(runscope.remembered(key, lambda: _staff_recipients(case, actor=actor)))


def _staff_recipients(case, *, actor: User | None) -> list[User]:
    staff = active_staff()
    if actor is not None:
        staff = staff.exclude(pk=actor.pk)
    if case.assignee_id is not None:
        assignee = list(staff.filter(pk=case.assignee_id))
        if assignee:
            return assignee
    watchers = list(staff.filter(watched_cases=case).order_by("pk"))
    if watchers:
        return watchers
    return list(staff.filter(memberships__role=Role.LEAD).order_by("pk"))


def staff_recipients_of(cases, *, actor: User | None = None) -> dict[int, list[User]]:
    """``staff_recipients(case, actor=actor)`` for each of ``cases``, by case
    id: the same users in the same order, read in at most three queries
    for all the cases (the active staff among their assignees and watchers,
    the watchers, the leads) instead of up to three per case. Remembered
    per case within a fetch run as ``staff_recipients`` remembers them."""
    out: dict[int, list[User]] = {}
    missing = []
    actor_pk = getattr(actor, "pk", None)
    for case in {c.pk: c for c in cases}.values():
        key = ("staff_recipients", case.pk, case.assignee_id, actor_pk)
        found = runscope.remembered(key, lambda: None, keep=lambda v: v is not None)
        if found is None:
            missing.append(case)
        else:
            out[case.pk] = list(found)
    if not missing:
        return out
    staff = active_staff()
    if actor is not None:
        staff = staff.exclude(pk=actor.pk)
    watchers: dict[int, list[int]] = {}
    through = Case.watchers.through
    for case_id, user_id in (
        through.objects.filter(case_id__in=[c.pk for c in missing])
        .order_by("user_id")
        .values_list("case_id", "user_id")
    ):
        watchers.setdefault(case_id, []).append(user_id)
    wanted = {c.assignee_id for c in missing if c.assignee_id is not None}
    wanted.update(u for ids in watchers.values() for u in ids)
    users = {u.pk: u for u in staff.filter(pk__in=sorted(wanted))} if wanted else {}
    leads: list[User] | None = None
    for case in missing:
        chosen: list[User] = []
        if case.assignee_id is not None and case.assignee_id in users:
            chosen = [users[case.assignee_id]]
        if not chosen:
            chosen = [users[u] for u in watchers.get(case.pk, ()) if u in users]
        if not chosen:
            if leads is None:
                leads = list(staff.filter(memberships__role=Role.LEAD).order_by("pk"))
            chosen = list(leads)
        key = ("staff_recipients", case.pk, case.assignee_id, actor_pk)
        runscope.remembered(key, lambda chosen=chosen: chosen)
        out[case.pk] = list(chosen)
    return out


def vendor_recipients(case, *, actor: User | None = None) -> list[User]:
    """The active contacts of ``case``'s vendor with an address (not another
    vendor's, not deactivated ones); never ``actor``."""
    contacts = (
        User.objects.filter(
            is_active=True,
            memberships__organization_id=case.vendor_id,
            memberships__role=Role.VENDOR_CONTACT,
        )
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )
    if actor is not None:
        contacts = contacts.exclude(pk=actor.pk)
    return list(contacts)


# --- writing notices --------------------------------------------------------------


def _tell(
    users: Iterable[User], *, case, subject: str, body: str, link: str, reply_to: str = ""
) -> list[Notice]:
    """One Notice per user; an outbox message for each who wants mail at once
    (answered to ``reply_to`` when given). A user whose address a delivery
    report marked undeliverable is skipped (``deliverable``)."""
    at = now()
    text = f"{body.rstrip()}\n\n{link}\n"
    notices = []
    for user in deliverable(users):
        immediate = user.mail_delivery != User.MailDelivery.DIGEST
        notices.append(
            Notice.objects.create(
                user=user,
                case=case,
                subject=subject[:500],
                body=body,
                link=link[:2000],
                created_at=at,
                immediate=immediate,
            )
        )
        if immediate:
            message = EmailMessage(
                subject=subject,
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[user.email],
                reply_to=[reply_to] if reply_to else None,
                headers={"Auto-Submitted": "auto-generated"},
            )
            outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message, case=case)
    return notices


def deliverable(users: Iterable[User]) -> list[User]:
    """``users`` but those whose address is marked undeliverable
    (``UndeliverableAddress``, compared without case): mail to them would
    only bounce again. One query when there is anyone to ask about."""
    users = list(users)
    emails = {u.email.strip().lower() for u in users if u.email}
    if not emails:
        return users
    bad = set(
        UndeliverableAddress.objects.annotate(lower=Lower("address"))
        .filter(lower__in=sorted(emails))
        .values_list("lower", flat=True)
    )
    return [u for u in users if u.email.strip().lower() not in bad]


def notify_staff(
    case, *, what: str, subject: str, body: str = "", link: str, actor: User | None = None
) -> list[Notice]:
    """Tell the staff who follow ``case`` (``staff_recipients``) that
    ``what`` happened, with ``body`` (details staff may read) and ``link``.
    Call inside the change's transaction."""
    text = f"{what}\n\n{body.strip()}" if body.strip() else what
    users = staff_recipients(case, actor=actor)
    return _tell(users, case=case, subject=f"[{case.reference}] {subject}", body=text, link=link)


def notify_vendor_contacts(
    case,
    *,
    what: str,
    subject: str,
    body_if_allowed: str = "",
    link: str,
    actor: User | None = None,
) -> list[Notice]:
    """Tell ``case``'s vendor contacts that ``what`` happened (general terms,
    no confidential content), with ``body_if_allowed`` only when the vendor
    set ``mail_includes_content``, and ``link`` into the portal. Nobody is
    told of a case its vendor does not see yet (not notified). Call inside
    the change's transaction."""
    if case.vendor_notified_at is None:
        return []
    text = what
    if body_if_allowed.strip() and case.vendor.mail_includes_content:
        text = f"{what}\n\n{body_if_allowed.strip()}"
    text += "\n\nSign in to the vendor portal to read the case:"
    users = vendor_recipients(case, actor=actor)
    # A contact who answers the mail writes to the case (comms.inbound matches it).
    reply_to = settings.DISCLOSURE_REPLY_ADDRESS.format(reference=case.reference)
    subject = f"[{case.reference}] {subject}"
    return _tell(users, case=case, subject=subject, body=text, link=link, reply_to=reply_to)


# --- what the services call -------------------------------------------------------


def is_vendor_contact(actor: User, case) -> bool:
    from disclosure.cases.access import role_on  # cases' services import this module

    return role_on(actor, case) == Role.VENDOR_CONTACT


def _who(actor: User, case) -> str:
    return f"{actor.display_name()} ({case.vendor.name})"


# action -> (subject, what happened, staff tab)
VENDOR_ACTIONS = {
    "acknowledge": ("Vendor acknowledged the notice", "acknowledged the notice", "timeline"),
    "log_communication": ("Message from the vendor", "sent a message", "communications"),
    "attach_evidence": ("Vendor uploaded a file", "uploaded a file", "evidence"),
    "secure": (
        "Vendor says the asset is secured",
        "says the asset is secured. This is the vendor's claim, not re-tested: "
        "re-test it and confirm",
        "timeline",
    ),
    "file_dispute": ("Vendor filed a dispute", "filed a dispute", "disputes"),
    "countersign_attestation": (
        "Vendor countersigned the deletion attestation",
        "countersigned the deletion attestation",
        "attestation",
    ),
}


def vendor_acted(case, actor: User, action: str, detail: str = "") -> list[Notice]:
    """When ``actor`` is a contact of ``case``'s vendor, tell staff of their
    ``action`` (a key of ``VENDOR_ACTIONS``) with ``detail`` (staff may read
    it whole); staff recording a vendor's action tells nobody."""
    if not is_vendor_contact(actor, case):
        return []
    subject, what, tab = VENDOR_ACTIONS[action]
    return notify_staff(
        case,
        what=f"{_who(actor, case)} {what} on {case.reference} — {case.title}.",
        subject=subject,
        body=quote(detail),
        link=staff_link(case, tab),
        actor=actor,
    )


# what staff did -> (subject, what happened in general terms, portal anchor)
STAFF_SHARES = {
    "message": ("New message in the portal", "sent you a message", "communications"),
    "dispute_filed": ("A dispute was recorded", "recorded a dispute", "disputes"),
    "dispute_answered": ("Your dispute was answered", "answered a dispute", "disputes"),
    "dispute_settled": ("A dispute was settled", "settled a dispute", "disputes"),
    "secured_confirmed": (
        "Re-test confirms the asset is secured",
        "re-tested the asset and confirms it is secured",
        "timeline",
    ),
}

# stage -> (subject, what happened in general terms)
STAGE_NOTICES = {
    "vendor_notified": (
        "A case for you in the vendor portal",
        "opened a case about an exposure of yours and shared it with you in the portal",
    ),
    "secured": ("Asset recorded as secured", "recorded that the exposed asset is secured"),
    "data_deleted": (
        "Please countersign the deletion attestation",
        "recorded that its copies of the data are deleted and asks you to countersign "
        "the deletion attestation in the portal",
    ),
    "published": ("Advisory published", "recorded the publication of its advisory"),
    "closed": ("Case closed", "closed the case"),
}


def message_logged(comm, actor: User, *, received: bool = False) -> list[Notice]:
    """What a newly logged communication tells: staff hear of a message a
    vendor contact sent, or of a message received by mail (``received``,
    not an auto-reply or bounce); the vendor hears of a message staff sent
    through the portal. Staff logging a message by hand tell nobody."""
    from .models import Channel, Direction

    case = comm.case
    if comm.direction == Direction.INBOUND:
        detail = f"Subject: {comm.subject or '(no subject)'}\n\n{quote(comm.body)}"
        if is_vendor_contact(actor, case):
            return vendor_acted(case, actor, "log_communication", detail)
        if received and not comm.automated:
            return notify_staff(
                case,
                what=f"A message from {comm.sender} was received on {case.reference} — "
                f"{case.title}.",
                subject="Message from the vendor",
                body=detail,
                link=staff_link(case, "communications"),
                actor=actor,
            )
        return []
    if comm.direction == Direction.OUTBOUND and comm.channel == Channel.PORTAL:
        return staff_shared(case, actor, "message", f"{comm.subject}\n\n{comm.body}")
    return []


def messages_received(comms, actor: User) -> list[Notice]:
    """``message_logged(comm, actor, received=True)`` for each of ``comms``
    (a chunk of received mail, logged by ``actor`` inside the chunk's
    transaction), in their order: the same recipients, notices and mail
    (one ``Notice`` per recipient, an outbox message for each who wants
    mail at once, nobody whose address is undeliverable), written with a
    number of queries that does not grow with the messages: the recipients
    of all the cases at once (``staff_recipients_of``), the undeliverable
    addresses in one query, the notices in one INSERT; each case's link and
    whether ``actor`` is its vendor's contact are worked out once. A
    communication other than a received inbound one, or an ``actor`` who is
    the vendor's contact, goes through ``message_logged`` itself."""
    from .models import Direction

    comms = list(comms)
    cases = {c.case.pk: c.case for c in comms}
    vendor_side = {pk: is_vendor_contact(actor, case) for pk, case in cases.items()}
    told = [
        c
        for c in comms
        if c.direction == Direction.INBOUND and not vendor_side[c.case.pk] and not c.automated
    ]
    recipients = staff_recipients_of([c.case for c in told], actor=actor)
    links = {pk: staff_link(cases[pk], "communications") for pk in {c.case.pk for c in told}}
    ok = {u.pk for u in deliverable({u.pk: u for us in recipients.values() for u in us}.values())}
    at = now()
    pending: list[tuple[Notice, str, str]] = []
    for comm in comms:
        case = comm.case
        if comm.direction != Direction.INBOUND or vendor_side[case.pk]:
            _flush(pending)
            message_logged(comm, actor, received=True)
            continue
        if comm.automated:
            continue
        detail = f"Subject: {comm.subject or '(no subject)'}\n\n{quote(comm.body)}"
        what = f"A message from {comm.sender} was received on {case.reference} — {case.title}."
        body = f"{what}\n\n{detail.strip()}" if detail.strip() else what
        subject = f"[{case.reference}] Message from the vendor"
        link = links[case.pk]
        text = f"{body.rstrip()}\n\n{link}\n"
        for user in recipients[case.pk]:
            if user.pk not in ok:
                continue
            notice = Notice(
                user=user, case=case, subject=subject[:500], body=body, link=link[:2000],
                created_at=at, immediate=user.mail_delivery != User.MailDelivery.DIGEST,
            )  # fmt: skip
            pending.append((notice, subject, text))
    return _flush(pending)


def _flush(pending: list) -> list[Notice]:
    """Write the notices of ``pending`` (one INSERT) and, in their order,
    the outbox message of each immediate one, as ``_tell`` does; empties it."""
    if not pending:
        return []
    notices = Notice.objects.bulk_create([n for n, _, _ in pending])
    for notice, subject, text in pending:
        if notice.immediate:
            message = EmailMessage(
                subject=subject,
                body=text,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[notice.user.email],
                headers={"Auto-Submitted": "auto-generated"},
            )
            outbox.enqueue(purpose=OutboxPurpose.NOTIFICATION, message=message, case=notice.case)
    pending.clear()
    return notices


def dispute_recorded(case, actor: User, what: str, content: str) -> list[Notice]:
    """A dispute filed by a vendor contact tells staff; one filed by staff
    tells the vendor (``content`` only when the vendor allows it in mail)."""
    if is_vendor_contact(actor, case):
        return vendor_acted(case, actor, "file_dispute", content)
    return staff_shared(case, actor, what, content)


def staff_shared(case, actor: User, what: str, content: str = "") -> list[Notice]:
    """When ``actor`` is staff, tell ``case``'s vendor contacts that ``what``
    (a key of ``STAFF_SHARES``) was shared with them; ``content`` only when
    the vendor allows it in mail."""
    if is_vendor_contact(actor, case):
        return []
    subject, text, anchor = STAFF_SHARES[what]
    return notify_vendor_contacts(
        case,
        what=f"{settings.DISCLOSURE_FIRM_NAME} {text} on {case.reference}.",
        subject=subject,
        body_if_allowed=quote(content),
        link=portal_link(case, anchor),
        actor=actor,
    )


def stage_recorded(case, actor: User, stage: str, note: str = "") -> list[Notice]:
    """When ``actor`` is staff, tell ``case``'s vendor contacts that
    ``stage`` was recorded (a shared ``note`` only when the vendor allows
    content in mail). A vendor's own "secured" tells staff instead
    (``vendor_acted``)."""
    if stage not in STAGE_NOTICES or is_vendor_contact(actor, case):
        return []
    subject, text = STAGE_NOTICES[stage]
    return notify_vendor_contacts(
        case,
        what=f"{settings.DISCLOSURE_FIRM_NAME} {text} ({case.reference}).",
        subject=subject,
        body_if_allowed=quote(note),
        link=portal_link(case, "timeline"),
        actor=actor,
    )
