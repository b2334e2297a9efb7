"""Reading the local Maildir (comms.maildir) and the fetch around it
(comms.fetch, manage.py fetch_mail, the Celery task)."""

import mailbox
import threading
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from disclosure.cases.stages import Stage
from disclosure.comms import inbound
from disclosure.comms.fetch import fetch_lock, fetch_mail
from disclosure.comms.maildir import fetch_maildir
from disclosure.comms.models import Communication, InboundMessage
from disclosure.comms.tasks import fetch_mail as fetch_mail_task
from tests.comms.test_inbound import mail
from tests.factories import make_case


def deliver(root: Path, raw: bytes, *, seen: bool = False) -> str:
    """Put ``raw`` into the Maildir at ``root`` as a mail server does."""
    box = mailbox.Maildir(root, create=True)
    message = mailbox.MaildirMessage(raw)
    if seen:
        message.set_subdir("cur")
        message.add_flag("S")
    return box.add(message)


def files(root: Path, sub: str) -> list[str]:
    return sorted(p.name for p in (root / sub).iterdir())


def test_the_folder_tree_is_created(tmp_path):
    root = tmp_path / "var" / "mail" / "inbox"
    assert fetch_maildir(root, lambda raw: None) == 0
    assert sorted(p.name for p in root.iterdir()) == ["cur", "new", "tmp"]


def test_new_messages_are_handed_over_once_and_filed_as_seen(tmp_path):
    root = tmp_path / "inbox"
    key = deliver(root, b"Subject: one\n\nbody\n")
    got = []
    assert fetch_maildir(root, got.append) == 1
    assert got == [b"Subject: one\n\nbody\n"]
    assert files(root, "new") == []
    assert files(root, "cur") == [f"{key}:2,S"]
    assert fetch_maildir(root, got.append) == 0
    assert len(got) == 1


def test_cur_messages_without_the_seen_flag_are_read_and_seen_ones_are_not(tmp_path):
    root = tmp_path / "inbox"
    deliver(root, b"Subject: old\n\n", seen=True)
    box = mailbox.Maildir(root)
    unread = mailbox.MaildirMessage(b"Subject: flagged\n\n")
    unread.set_subdir("cur")
    unread.add_flag("F")
    key = box.add(unread)
    got = []
    assert fetch_maildir(root, got.append) == 1
    assert got == [b"Subject: flagged\n\n"]
    assert f"{key}:2,FS" in files(root, "cur")


def test_a_dropped_eml_is_processed_and_moved_into_cur(tmp_path):
    root = tmp_path / "inbox"
    fetch_maildir(root, lambda raw: None)
    (root / "reply.eml").write_bytes(b"Subject: dropped\n\nhi\n")
    got = []
    assert fetch_maildir(root, got.append) == 1
    assert got == [b"Subject: dropped\n\nhi\n"]
    assert not (root / "reply.eml").exists()
    [name] = files(root, "cur")
    assert name.endswith(":2,S")
    assert (root / "cur" / name).read_bytes() == b"Subject: dropped\n\nhi\n"
    assert fetch_maildir(root, got.append) == 0


def test_a_message_whose_handling_raises_stays_and_the_next_is_tried(tmp_path, caplog):
    root = tmp_path / "inbox"
    bad = deliver(root, b"Subject: bad\n\n")
    deliver(root, b"Subject: good\n\n")
    got = []

    def handle(raw):
        if b"bad" in raw:
            raise RuntimeError("database down")
        got.append(raw)

    assert fetch_maildir(root, handle) == 1
    assert got == [b"Subject: good\n\n"]
    assert files(root, "new") == [bad]
    assert "not processed" in caplog.text
    assert fetch_maildir(root, got.append) == 1  # tried again next time
    assert files(root, "new") == []


def test_the_limit(tmp_path):
    root = tmp_path / "inbox"
    for i in range(3):
        deliver(root, f"Subject: {i}\n\n".encode())
    got = []
    assert fetch_maildir(root, got.append, limit=2) == 2
    assert len(files(root, "new")) == 1


# --- fetch_mail ---------------------------------------------------------------


@pytest.fixture
def maildir(settings, tmp_path):
    settings.DISCLOSURE_MAILDIR = str(tmp_path / "inbox")
    settings.DISCLOSURE_IMAP_URL = ""
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    return tmp_path / "inbox"


@pytest.mark.django_db
def test_fetch_mail_counts_each_outcome(maildir, analyst, vendor, settings):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    settings.DISCLOSURE_MAIL_MAX_BYTES = 5000
    deliver(maildir, mail(subject=f"[{case.reference}] one", message_id="<m1@c.example>"))
    deliver(maildir, mail(subject="tip", message_id="<m2@c.example>"))
    deliver(maildir, mail(subject="big", message_id="<m3@c.example>", body="x" * 6000))
    deliver(maildir, mail(subject=f"[{case.reference}] one", message_id="<m1@c.example>"))
    result = fetch_mail()
    source = f"maildir:{maildir}"
    assert result.as_dict() == {
        "skipped": False,
        "sources": {
            source: {"matched": 1, "unmatched": 1, "duplicates": 1, "refused": 1, "errors": 0}
        },
        "failures": [],
    }
    assert InboundMessage.objects.filter(source=source).count() == 3
    assert files(maildir, "new") == []


@pytest.mark.django_db
def test_manage_py_fetch_mail_prints_the_counts_and_the_task_runs_it(maildir, analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    fetch_maildir(maildir, lambda raw: None)
    (maildir / "reply.eml").write_bytes(mail(subject=f"[{case.reference}] dropped"))
    out = StringIO()
    call_command("fetch_mail", stdout=out)
    assert out.getvalue() == (
        f"maildir:{maildir}: 1 matched, 0 unmatched (triage), 0 duplicates, 0 refused, 0 errors\n"
    )
    assert Communication.objects.filter(case=case, subject=f"[{case.reference}] dropped").exists()
    deliver(maildir, mail(subject="tip", message_id="<tip@c.example>"))
    assert fetch_mail_task.delay().get()["sources"][f"maildir:{maildir}"]["unmatched"] == 1


@pytest.mark.django_db
def test_an_error_leaves_the_message_and_counts_it(maildir, monkeypatch):
    deliver(maildir, mail(message_id="<e1@c.example>"))

    def broken(stream, **kwargs):
        raise RuntimeError("storage full")

    monkeypatch.setattr(inbound, "store_stream", broken)
    result = fetch_mail()
    assert result.sources[f"maildir:{maildir}"].errors == 1
    assert len(files(maildir, "new")) == 1


@pytest.mark.django_db
def test_an_unreadable_imap_mailbox_is_reported_and_the_maildir_still_read(maildir, settings):
    settings.DISCLOSURE_IMAP_URL = "imaps://user:pw@127.0.0.1:1/INBOX"
    settings.DISCLOSURE_IMAP_TIMEOUT = 2
    deliver(maildir, mail(message_id="<i1@c.example>"))
    result = fetch_mail()
    assert result.sources[f"maildir:{maildir}"].unmatched == 1
    assert len(result.failures) == 1 and result.failures[0].startswith("imap:INBOX: ")
    with pytest.raises(CommandError, match="1 mailbox"):
        call_command("fetch_mail", stdout=StringIO(), stderr=StringIO())


@contextmanager
def lock_held_elsewhere():
    """Another process's fetch, as a thread with its own database connection
    holding the fetch lock (a PostgreSQL session lock is re-entrant within
    one session)."""
    taken, done = threading.Event(), threading.Event()
    held = []

    def hold():
        try:
            with fetch_lock() as got:
                held.append(got)
                taken.set()
                done.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(30)
    try:
        assert held == [True]
        yield
    finally:
        done.set()
        thread.join()


@pytest.mark.django_db
def test_two_fetches_never_run_at_once(maildir):
    deliver(maildir, mail(message_id="<l1@c.example>"))
    with lock_held_elsewhere():
        result = fetch_mail()
        out = StringIO()
        call_command("fetch_mail", stdout=out)
    assert (result.skipped, result.sources) == (True, {})
    assert len(files(maildir, "new")) == 1
    assert out.getvalue() == "Another fetch is running; nothing done.\n"
    assert fetch_mail().skipped is False  # released
    assert files(maildir, "new") == []


@pytest.mark.mail
@pytest.mark.django_db
def test_fetch_mail_reads_imap_beside_the_maildir(
    settings, tmp_path, imap_mailbox, analyst, vendor
):
    settings.DISCLOSURE_MAILDIR = str(tmp_path / "inbox")
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    imap_mailbox.deliver(mail(subject=f"[{case.reference}] by IMAP", message_id="<imap-1@c>"))
    imap_mailbox.deliver(mail(subject="a tip", message_id="<imap-2@c>"))
    imap_mailbox.deliver(mail(subject=f"[{case.reference}] by IMAP", message_id="<imap-1@c>"))
    deliver(tmp_path / "inbox", mail(subject=f"[{case.reference}] local", message_id="<md@c>"))
    result = fetch_mail()
    assert result.as_dict() == {
        "skipped": False,
        "sources": {
            f"maildir:{tmp_path / 'inbox'}": {
                "matched": 1, "unmatched": 0, "duplicates": 0, "refused": 0, "errors": 0,
            },
            "imap:INBOX": {
                "matched": 1, "unmatched": 1, "duplicates": 1, "refused": 0, "errors": 0,
            },
        },
        "failures": [],
    }  # fmt: skip
    assert imap_mailbox.messages("INBOX") == []  # all moved to the processed folder
    assert fetch_mail().total("matched") == 0  # nothing is read twice
    assert Communication.objects.filter(case=case, direction="inbound").count() == 2
