"""comms.imap.fetch_imap against a real Dovecot (tests/dovecot.py): messages
handed over byte for byte, processed ones moved or flagged and never handed
over twice, a failing message left while the others go on, and the mailbox's
problems (password, certificate, folder, connection) as clear errors."""

import logging
import socket

import pytest

from disclosure.comms import imap
from disclosure.comms.imap import MailboxUnavailable, fetch_imap, parse_url

# In IMAP's network form (CRLF): 8-bit text, a folded header, trailing blanks,
# a base64 attachment, and a line that is only a dot.
PLAIN = (
    b"From: Vendor Security <security@contoso.example>\r\n"
    b"To: disclosure+DSC-2026-0001@firm.example\r\n"
    b"Subject: Re: [DSC-2026-0001] Exposed bucket\r\n"
    b"Message-ID: <reply-1@contoso.example>\r\n"
    b"X-Folded: one\r\n"
    b"\ttwo\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Gr\xc3\xbc\xc3\x9fe, we closed it.   \r\n"
    b".\r\n"
    b"\r\n"
)
WITH_ATTACHMENT = (
    b"From: ops@contoso.example\r\n"
    b"Subject: [DSC-2026-0001] logs\r\n"
    b"Message-ID: <reply-2@contoso.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"See the log.\r\n"
    b"--b1\r\n"
    b"Content-Type: application/octet-stream\r\n"
    b'Content-Disposition: attachment; filename="access.log"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"AAECAwQFBgcICQoLDA0ODw==\r\n"
    b"--b1--\r\n"
)


def message(n: int) -> bytes:
    return (
        b"From: a@contoso.example\r\nSubject: message %d\r\nMessage-ID: <m%d@contoso.example>\r\n"
        b"\r\nbody %d\r\n" % (n, n, n)
    )


def uid_fetch(mailbox, **kwargs):
    got: list[bytes] = []
    count = fetch_imap(mailbox.url(**kwargs), got.append)
    return count, got


@pytest.mark.mail
def test_delivered_messages_are_handed_over_byte_identical(imap_mailbox):
    imap_mailbox.deliver(PLAIN)
    imap_mailbox.deliver(WITH_ATTACHMENT)
    imap_mailbox.deliver_to_maildir(message(3))

    count, got = uid_fetch(imap_mailbox)

    assert count == 3
    assert got == [PLAIN, WITH_ATTACHMENT, message(3)]


@pytest.mark.mail
def test_processed_messages_are_moved_and_not_handed_over_again(imap_mailbox):
    assert imap_mailbox.folders() == {"INBOX"}
    for n in (1, 2):
        imap_mailbox.deliver(message(n))

    assert uid_fetch(imap_mailbox) == (2, [message(1), message(2)])

    assert imap_mailbox.folders() == {"INBOX", "Processed"}  # created when missing
    assert imap_mailbox.messages("INBOX") == []
    assert [raw for raw, _ in imap_mailbox.messages("Processed")] == [message(1), message(2)]
    assert uid_fetch(imap_mailbox) == (0, [])
    imap_mailbox.deliver(message(3))
    assert uid_fetch(imap_mailbox) == (1, [message(3)])


@pytest.mark.mail
def test_without_a_processed_folder_messages_are_flagged_seen(imap_mailbox):
    for n in (1, 2):
        imap_mailbox.deliver(message(n))

    assert uid_fetch(imap_mailbox, processed=None) == (2, [message(1), message(2)])

    assert imap_mailbox.messages("INBOX") == [
        (message(1), {"\\Seen"}),
        (message(2), {"\\Seen"}),
    ]
    assert imap_mailbox.folders() == {"INBOX"}
    imap_mailbox.deliver(message(3))
    assert uid_fetch(imap_mailbox, processed=None) == (1, [message(3)])


@pytest.mark.mail
def test_a_handle_that_raises_leaves_its_message_and_processes_the_rest(imap_mailbox, caplog):
    for n in (1, 2, 3):
        imap_mailbox.deliver(message(n))
    seen: list[bytes] = []

    def handle(raw: bytes) -> None:
        seen.append(raw)
        if b"message 2" in raw:
            raise ValueError("cannot store this one")

    with caplog.at_level(logging.ERROR, logger="disclosure.comms.imap"):
        assert fetch_imap(imap_mailbox.url(), handle) == 2

    assert seen == [message(1), message(2), message(3)]
    assert [raw for raw, _ in imap_mailbox.messages("INBOX")] == [message(2)]
    assert [raw for raw, _ in imap_mailbox.messages("Processed")] == [message(1), message(3)]
    assert "not processed; it stays in the folder" in caplog.text
    assert "cannot store this one" in caplog.text
    # fetched again next time, and then processed
    assert uid_fetch(imap_mailbox) == (1, [message(2)])


@pytest.mark.mail
def test_a_handle_that_raises_leaves_its_message_unseen_without_processed_folder(imap_mailbox):
    for n in (1, 2):
        imap_mailbox.deliver(message(n))

    def handle(raw: bytes) -> None:
        if b"message 1" in raw:
            raise ValueError("no")

    assert fetch_imap(imap_mailbox.url(processed=None), handle) == 1
    assert imap_mailbox.messages("INBOX") == [(message(1), set()), (message(2), {"\\Seen"})]


@pytest.mark.mail
def test_limit_is_honoured(imap_mailbox):
    for n in (1, 2, 3, 4, 5):
        imap_mailbox.deliver(message(n))
    got: list[bytes] = []

    assert fetch_imap(imap_mailbox.url(), got.append, limit=2) == 2
    assert got == [message(1), message(2)]
    assert fetch_imap(imap_mailbox.url(), got.append, limit=0) == 0
    assert len(imap_mailbox.messages("INBOX")) == 3
    assert fetch_imap(imap_mailbox.url(), got.append, limit=10) == 3
    assert got == [message(n) for n in (1, 2, 3, 4, 5)]


@pytest.mark.mail
def test_messages_are_fetched_in_batches_by_count_and_size(imap_mailbox, monkeypatch):
    big = message(9) + b"x" * 3000 + b"\r\n"
    for raw in (message(1), message(2), message(3), big, message(4)):
        imap_mailbox.deliver(raw)
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 2)
    monkeypatch.setattr(imap, "BATCH_BYTES", 1000)
    batches: list[int] = []
    real = imap._batches

    def spy(box, uids):
        for batch in real(box, uids):
            batches.append(len(batch))
            yield batch

    monkeypatch.setattr(imap, "_batches", spy)

    count, got = uid_fetch(imap_mailbox)

    assert count == 5
    assert got == [message(1), message(2), message(3), big, message(4)]
    assert batches == [2, 1, 1, 1]  # two by count; the big one alone (over 1000 bytes)


@pytest.mark.mail
def test_starttls_on_the_imap_port(imap_mailbox):
    imap_mailbox.deliver(PLAIN)
    assert uid_fetch(imap_mailbox, scheme="imap") == (1, [PLAIN])


def last_login(mailbox) -> str:
    """Dovecot's log line of the latest login."""
    return [line for line in mailbox.log_path.read_text().splitlines() if " Login: " in line][-1]


@pytest.mark.mail
def test_imap_urls_use_starttls_and_only_insecure_1_speaks_plain_text(imap_mailbox):
    """Dovecot trusts the loopback, so it lets a plain login through here:
    its log tells whether the session was TLS."""
    imap_mailbox.deliver(message(1))
    imap_mailbox.deliver(message(2))
    plain = imap_mailbox.url(scheme="imap") + "&insecure=1"

    assert uid_fetch(imap_mailbox, scheme="imap", processed=None) == (2, [message(1), message(2)])
    assert ", TLS," in last_login(imap_mailbox)
    imap_mailbox.deliver(message(3))
    assert fetch_imap(plain, lambda raw: None) == 3
    assert ", TLS" not in last_login(imap_mailbox)


@pytest.mark.mail
def test_the_ca_may_be_given_as_pem_text(imap_mailbox, settings):
    with open(imap_mailbox.ca_path) as f:
        settings.DISCLOSURE_IMAP_CA = f.read()
    imap_mailbox.deliver(PLAIN)
    assert uid_fetch(imap_mailbox) == (1, [PLAIN])


@pytest.mark.mail
def test_wrong_password_is_a_clear_error_naming_no_password(imap_mailbox):
    imap_mailbox.deliver(PLAIN)
    wrong = "s3cret:wrong/pw"
    with pytest.raises(MailboxUnavailable) as exc:
        fetch_imap(imap_mailbox.url(password=wrong), lambda raw: None)
    text = str(exc.value)
    assert text.startswith(
        f"The IMAP server refused the login of disclosure@127.0.0.1:{imap_mailbox.imaps_port}: "
    )
    assert "AUTHENTICATIONFAILED" in text
    assert wrong not in text and "s3cret" not in text
    assert imap_mailbox.messages("INBOX") == [(PLAIN, set())]


@pytest.mark.mail
def test_an_untrusted_certificate_is_refused(imap_mailbox, settings):
    settings.DISCLOSURE_IMAP_CA = ""  # the system's CAs only: the self-signed one is not among them
    imap_mailbox.deliver(PLAIN)
    handed: list[bytes] = []
    with pytest.raises(MailboxUnavailable) as exc:
        fetch_imap(imap_mailbox.url(), handed.append)
    assert str(exc.value) == (
        f"The IMAP server 127.0.0.1:{imap_mailbox.imaps_port} presented a certificate that is "
        "not trusted (self-signed certificate); set DISCLOSURE_IMAP_CA to trust its CA."
    )
    with pytest.raises(MailboxUnavailable, match="not trusted"):
        fetch_imap(imap_mailbox.url(scheme="imap"), handed.append)  # STARTTLS alike
    assert handed == []
    assert imap_mailbox.messages("INBOX") == [(PLAIN, set())]


@pytest.mark.mail
def test_a_missing_folder_is_a_clear_error(imap_mailbox):
    with pytest.raises(MailboxUnavailable) as exc:
        fetch_imap(imap_mailbox.url(folder="Nowhere"), lambda raw: None)
    assert str(exc.value).startswith(
        f"Cannot open the IMAP folder 'Nowhere' of disclosure@127.0.0.1:{imap_mailbox.imaps_port}"
    )


def test_a_closed_port_is_a_clear_error(settings):
    settings.DISCLOSURE_IMAP_TIMEOUT = 5
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(MailboxUnavailable) as exc:
            fetch_imap(f"imaps://u:hunter2@127.0.0.1:{port}/INBOX", lambda raw: None)
    assert str(exc.value).startswith(f"Cannot connect to the IMAP server 127.0.0.1:{port}: ")
    assert "hunter2" not in str(exc.value)


def test_a_missing_ca_file_is_a_clear_error(settings):
    settings.DISCLOSURE_IMAP_CA = "/nonexistent/ca.pem"
    with pytest.raises(MailboxUnavailable, match=r"^DISCLOSURE_IMAP_CA cannot be loaded: "):
        fetch_imap("imaps://u:p@127.0.0.1:1/INBOX", lambda raw: None)


# --- the URL -------------------------------------------------------------------


def test_parse_url_reads_tls_user_password_folder_and_processed():
    target = parse_url(
        "imaps://me%40firm.example:p%3Aw%2Fd@mail.example/Disclosure%20In?processed=Done"
    )
    assert (target.host, target.port, target.security) == ("mail.example", 993, "tls")
    assert (target.user, target.password) == ("me@firm.example", "p:w/d")
    assert (target.folder, target.processed) == ("Disclosure In", "Done")
    assert "p:w/d" not in repr(target)


@pytest.mark.parametrize(
    ("url", "port", "security", "folder", "processed"),
    [
        ("imap://u:p@mail.example", 143, "starttls", "INBOX", None),
        ("imap://u:p@mail.example:1143/INBOX", 1143, "starttls", "INBOX", None),
        ("imap://u:p@mail.example/INBOX?insecure=1", 143, "plain", "INBOX", None),
        ("IMAPS://u:p@mail.example:9993/?processed=Archive/Done", 9993, "tls", "INBOX",
         "Archive/Done"),
    ],
)  # fmt: skip
def test_parse_url_defaults(url, port, security, folder, processed):
    target = parse_url(url)
    assert (target.port, target.security, target.folder, target.processed) == (
        port, security, folder, processed,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://u:p@mail.example/",
            r"must start with imaps:// \(TLS\) or imap:// \(STARTTLS\), not https://\.",
        ),
        ("mail.example", "must start with imaps://"),
        ("imaps://mail.example/INBOX", "must carry user:password@"),
        ("imaps://u@mail.example/INBOX", "must carry user:password@"),
        ("imaps://u:p@/INBOX", "names no host"),
        ("imaps://u:p@mail.example:99999/", "is not a valid URL"),
        ("imaps://u:p@mail.example/?proccessed=Done", "unknown options: proccessed"),
        ("imaps://u:p@mail.example/?insecure=1", "insecure=1 only applies to imap://"),
        ("imaps://u:p@mail.example/INBOX?processed=INBOX", "must differ"),
    ],
)
def test_parse_url_refuses_with_a_reason(url, message):
    with pytest.raises(MailboxUnavailable, match=message) as exc:
        parse_url(url)
    assert ":p@" not in str(exc.value)


@pytest.mark.mail
def test_a_chunk_is_moved_after_its_handler_returned_and_only_what_it_processed(
    imap_mailbox, monkeypatch
):
    """fetch_imap_chunks: each chunk goes to the handler whole; nothing of it
    is moved while the handler runs (a crash then hands it over again); the
    messages it says it did not process stay; a handler that raises leaves
    its whole chunk and the next chunk is still read."""
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 2)
    for n in (1, 2, 3, 4, 5):
        imap_mailbox.deliver(message(n))
    chunks: list[list[bytes]] = []

    def handle_chunk(raws: list[bytes]) -> list[bool]:
        chunks.append(raws)
        inbox = [raw for raw, _ in imap_mailbox.messages("INBOX")]
        if not all(raw in inbox for raw in raws):  # not moved while handled
            return [False] * len(raws)
        if message(3) in raws:
            raise RuntimeError("the database went away")
        return [raw != message(2) for raw in raws]

    assert imap.fetch_imap_chunks(imap_mailbox.url(), handle_chunk) == 2
    assert chunks == [[message(1), message(2)], [message(3), message(4)], [message(5)]]
    assert [raw for raw, _ in imap_mailbox.messages("Processed")] == [message(1), message(5)]
    assert [raw for raw, _ in imap_mailbox.messages("INBOX")] == [
        message(2), message(3), message(4)
    ]  # fmt: skip
