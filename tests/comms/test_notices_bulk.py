"""Staff notices of a fetch's chunk of received mail, written at once
(``notices.messages_received``, ``notices.staff_recipients_of``): the same
recipients, content and delivery as one message at a time (the assignee,
else the watchers, else the leads; immediate mail or the digest; nobody
whose address is undeliverable; no notice of an auto-reply), in a number
of queries that does not grow with the cases."""

import pytest
from django.core import mail as sent_mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.accounts.models import User
from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.comms import notices
from disclosure.comms.inbound import receive_batch
from disclosure.comms.models import Notice, UndeliverableAddress
from disclosure.comms.runscope import fetch_run
from disclosure.core.timeutils import now
from tests.comms.test_inbound import mail
from tests.factories import MembershipFactory, make_case

pytestmark = pytest.mark.django_db

SITE = "http://notices.example"
SENDER = "Contoso Security <security@contoso.example>"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DISCLOSURE_SITE_URL = SITE
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    settings.DISCLOSURE_REFERENCE_PREFIX = "DSC"


def _member(firm, email: str, **user) -> User:
    member = MembershipFactory(organization=firm, role="analyst", user__email=email)
    for name, value in user.items():
        setattr(member.user, name, value)
    member.user.save()
    return member.user


@pytest.fixture
def people(firm, analyst, lead, vendor):
    """Case a has an assignee; case b no assignee and three watchers (one
    on the digest, one undeliverable); case c neither (its leads hear)."""
    a, b, c = (make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor) for _ in range(3))
    assignee = _member(firm, "assignee@firm.example")
    services.update_details(actor=analyst, case=a, changes={"assignee": assignee})
    a.refresh_from_db()
    digest = _member(firm, "digest@firm.example", mail_delivery=User.MailDelivery.DIGEST)
    bounced = _member(firm, "bounced@firm.example")
    watcher = _member(firm, "watcher@firm.example")
    b.watchers.add(watcher, bounced, digest)
    UndeliverableAddress.objects.create(address="Bounced@Firm.example", since=now())
    return {"cases": (a, b, c), "assignee": assignee, "digest": digest, "watcher": watcher}


def _reply(case, n: int, **headers) -> bytes:
    return mail(
        subject=f"Re: [{case.reference}] reply {n}",
        message_id=f"<reply-{n}@contoso.example>",
        body=f"Reply number {n}.",
        sender=SENDER,
        **headers,
    )


def _text(case, n: int) -> str:
    link = f"{SITE}/cases/{case.reference}/communications/"
    return (
        f"A message from {SENDER} was received on {case.reference} — {case.title}.\n\n"
        f"Subject: Re: [{case.reference}] reply {n}\n\nReply number {n}.\n\n{link}\n"
    )


def test_a_chunk_tells_each_case_s_staff_as_one_message_at_a_time_would(
    people, lead, django_capture_on_commit_callbacks
):
    a, b, c = people["cases"]
    raws = [
        _reply(a, 1),
        _reply(b, 2),
        _reply(c, 3),
        _reply(a, 4, auto_submitted="auto-replied"),  # an auto-reply tells nobody
        _reply(a, 5),
    ]
    sent_mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True), fetch_run():
        results = receive_batch(raws, source="imap:INBOX")

    assert [r.message.status for r in results] == ["matched"] * 5, [
        (r.message.problem, r.message.subject) for r in results
    ]
    rows = Notice.objects.order_by("pk")
    assert [(n.user.email, n.case_id, n.immediate) for n in rows] == [
        ("assignee@firm.example", a.pk, True),
        ("digest@firm.example", b.pk, False),  # watchers in the order they joined the firm
        ("watcher@firm.example", b.pk, True),
        (lead.email, c.pk, True),
        ("assignee@firm.example", a.pk, True),
    ]
    first = rows[0]
    assert first.subject == f"[{a.reference}] Message from the vendor"
    assert first.link == f"{SITE}/cases/{a.reference}/communications/"
    assert f"{first.body.rstrip()}\n\n{first.link}\n" == _text(a, 1)
    got = sorted((m.to, m.subject, m.body.replace("\r\n", "\n")) for m in sent_mail.outbox)
    assert got == sorted(
        [
            (
                ["assignee@firm.example"],
                f"[{a.reference}] Message from the vendor",
                _text(a, 1),
            ),
            (
                ["watcher@firm.example"],
                f"[{b.reference}] Message from the vendor",
                _text(b, 2),
            ),
            (
                [lead.email],
                f"[{c.reference}] Message from the vendor",
                _text(c, 3),
            ),
            (
                ["assignee@firm.example"],
                f"[{a.reference}] Message from the vendor",
                _text(a, 5),
            ),
        ]
    )


def test_staff_recipients_of_many_cases_are_those_of_each_case(people, lead, vendor_contact):
    """The same users in the same order as ``staff_recipients`` case by
    case, in three queries for all of them; the actor is never among them."""
    a, b, c = people["cases"]
    with CaptureQueriesContext(connection) as captured:
        found = notices.staff_recipients_of([a, b, c, a])
    assert len(captured.captured_queries) <= 3
    assert {pk: [u.email for u in users] for pk, users in found.items()} == {
        a.pk: ["assignee@firm.example"],
        b.pk: sorted(
            ["digest@firm.example", "bounced@firm.example", "watcher@firm.example"],
            key=lambda e: User.objects.get(email=e).pk,
        ),
        c.pk: [lead.email],
    }
    for case in (a, b, c):
        assert found[case.pk] == notices.staff_recipients(case)
    without = notices.staff_recipients_of([a], actor=people["assignee"])
    assert without[a.pk] == notices.staff_recipients(a, actor=people["assignee"])
    assert people["assignee"] not in without[a.pk]


def test_a_chunk_s_notices_take_the_same_queries_for_more_cases(firm, analyst, vendor):
    """Digest-only staff (no outbox mail): the notices of three messages on
    three cases take the same statements as those of one."""
    digest = _member(firm, "digest@firm.example", mail_delivery=User.MailDelivery.DIGEST)
    cases = [make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor) for _ in range(4)]
    for case in cases:
        services.update_details(actor=analyst, case=case, changes={"assignee": digest})

    def queries(chunk, first):
        with fetch_run(), CaptureQueriesContext(connection) as captured:
            receive_batch([_reply(case, first + i) for i, case in enumerate(chunk)], source="m")
        return [q["sql"].split(" WHERE ")[0][:60] for q in captured if _notices(q["sql"])]

    one = queries(cases[:1], 10)
    three = queries(cases[1:], 20)
    assert len(one) == 4  # watchers, the staff among them and the assignees, undeliverable, notices
    assert three == one
    assert Notice.objects.filter(user=digest, immediate=False).count() == 4


def _notices(sql: str) -> bool:
    """Whether ``sql`` is one of the notices' statements."""
    return (
        sql.startswith('SELECT DISTINCT "accounts_user"')
        or '"cases_case_watchers"' in sql
        or '"comms_undeliverableaddress"' in sql
        or sql.startswith('INSERT INTO "comms_notice"')
    )
