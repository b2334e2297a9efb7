"""The daily digest (comms.digest): one mail a day listing a person's pending
notices with their links, the notices marked; a second run the same day
sends nothing new; two runs at once never put a notice in two digests."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection

from disclosure.accounts.models import User
from disclosure.comms.digest import send_digests
from disclosure.comms.models import Notice, OutboxMessage
from tests.factories import UserFactory

SITE = "http://digest.example"
DAY = datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DISCLOSURE_MAIL_DOMAIN = "digest.example"


def _reader(**kwargs):
    return UserFactory(mail_delivery=User.MailDelivery.DIGEST, **kwargs)


def _notice(user, n, *, at=DAY - timedelta(hours=5), immediate=False):
    return Notice.objects.create(
        user=user,
        subject=f"[DSC-2026-000{n}] Message from the vendor",
        body=f"Contoso sent a message on DSC-2026-000{n}.",
        link=f"{SITE}/cases/DSC-2026-000{n}/communications/",
        created_at=at,
        immediate=immediate,
    )


def _run(capture, **kwargs):
    mail.outbox.clear()
    with capture(execute=True):
        return send_digests(**kwargs)


def test_a_digest_lists_each_pending_notice_with_its_link(db, django_capture_on_commit_callbacks):
    reader = _reader(username="dana", first_name="Dana", last_name="Reed")
    first = _notice(reader, 1, at=DAY - timedelta(hours=6))
    second = _notice(reader, 2, at=DAY - timedelta(hours=2))
    _notice(reader, 3, immediate=True)  # mailed at once already

    assert _run(django_capture_on_commit_callbacks, now=DAY) == 1

    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["dana@example.test"]
    assert sent.subject == "Your daily digest: 2 notice(s)"
    assert sent.body.replace("\r\n", "\n") == (
        "Hello Dana Reed,\n\n"
        "2 thing(s) happened on your cases since your last digest:\n\n"
        "1. [DSC-2026-0001] Message from the vendor (2026-12-03 01:00 UTC)\n"
        "   Contoso sent a message on DSC-2026-0001.\n"
        f"   {SITE}/cases/DSC-2026-0001/communications/\n\n"
        "2. [DSC-2026-0002] Message from the vendor (2026-12-03 05:00 UTC)\n"
        "   Contoso sent a message on DSC-2026-0002.\n"
        f"   {SITE}/cases/DSC-2026-0002/communications/\n\n"
        "You get one mail a day because you chose a daily digest in your mail settings.\n"
    )
    row = OutboxMessage.objects.get(purpose="digest")
    assert row.message_id == f"<digest.{reader.pk}.20261203@digest.example>"
    assert row.status == "sent"
    assert set(Notice.objects.filter(digest=row)) == {first, second}


def test_a_second_run_the_same_day_sends_nothing_new(db, django_capture_on_commit_callbacks):
    reader = _reader()
    _notice(reader, 1)
    assert _run(django_capture_on_commit_callbacks, now=DAY) == 1
    late = _notice(reader, 2, at=DAY + timedelta(hours=1))

    assert _run(django_capture_on_commit_callbacks, now=DAY + timedelta(hours=3)) == 0
    assert mail.outbox == []
    late.refresh_from_db()
    assert late.digest_id is None  # waits for tomorrow

    assert _run(django_capture_on_commit_callbacks, now=DAY + timedelta(days=1)) == 1
    late.refresh_from_db()
    assert late.digest.message_id == f"<digest.{reader.pk}.20261204@digest.example>"


def test_nobody_with_nothing_pending_is_mailed(db, django_capture_on_commit_callbacks):
    _reader()
    immediate = UserFactory()
    _notice(immediate, 1, immediate=True)
    assert _run(django_capture_on_commit_callbacks, now=DAY) == 0
    assert mail.outbox == []


def test_each_reader_gets_their_own_digest(db, django_capture_on_commit_callbacks):
    a, b = _reader(), _reader()
    _notice(a, 1)
    _notice(b, 2)
    assert _run(django_capture_on_commit_callbacks, now=DAY) == 2
    assert sorted(m.to for m in mail.outbox) == sorted([[a.email], [b.email]])
    assert "DSC-2026-0002" not in next(m.body for m in mail.outbox if m.to == [a.email])


def test_an_inactive_or_addressless_reader_is_skipped(db, django_capture_on_commit_callbacks):
    gone, silent = _reader(is_active=False), _reader(email="")
    _notice(gone, 1)
    _notice(silent, 2)
    assert _run(django_capture_on_commit_callbacks, now=DAY) == 0
    assert Notice.objects.filter(digest=None).count() == 2


def test_the_command_and_the_task_send_digests(db, django_capture_on_commit_callbacks):
    from io import StringIO

    from disclosure.comms.tasks import send_digests as task

    reader = _reader()
    _notice(reader, 1)
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("send_digests", stdout=out)
    assert out.getvalue() == "1 digest(s) written to the outbox\n"
    assert task.delay().get() == 0  # the same day: nothing new


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_never_send_a_notice_twice(settings):
    readers = [_reader() for _ in range(6)]
    for n, reader in enumerate(readers):
        for k in range(3):
            _notice(reader, n * 3 + k)
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait()
            results.append(send_digests(now=DAY))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(results) == 6
    assert OutboxMessage.objects.filter(purpose="digest").count() == 6
    assert Notice.objects.filter(digest=None).count() == 0
    for reader in readers:
        digests = OutboxMessage.objects.filter(notices__user=reader).distinct()
        assert digests.count() == 1
        assert Notice.objects.filter(user=reader, digest=digests.get()).count() == 3


def test_beat_sends_the_digests_once_a_day_at_a_fixed_hour(settings):
    from celery.schedules import crontab

    entry = settings.CELERY_BEAT_SCHEDULE["send-digests-daily"]
    assert entry["task"] == "disclosure.comms.tasks.send_digests"
    assert entry["schedule"] == crontab(hour=7, minute=0)
