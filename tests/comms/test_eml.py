"""Parsing raw e-mail messages (.eml) into what a communication records."""

from datetime import UTC, datetime, timedelta

import pytest

from disclosure.comms.eml import html_to_text, parse_eml
from disclosure.core.errors import ValidationFailed

MULTIPART = b"""\
From: Contoso Security <security@contoso.example>
To: Research Team <research@firm.example>, legal@firm.example
Cc: ciso@contoso.example
Date: Tue, 03 Nov 2026 14:05:00 +0100
Subject: Re: Exposed container
 (folded)
Message-ID: <abc123@contoso.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="outer"

--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

We have closed the container. Gr=C3=BC=C3=9Fe.

--inner
Content-Type: text/html; charset="utf-8"

<p>We have <b>closed</b> the container.</p>
--inner--

--outer
Content-Type: application/pdf
Content-Disposition: attachment; filename="retest.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfsj6IK
--outer--
"""


def test_a_multipart_message_with_an_attachment():
    parsed = parse_eml(MULTIPART)
    assert parsed.sender == "Contoso Security <security@contoso.example>"
    assert parsed.to == ("Research Team <research@firm.example>", "legal@firm.example")
    assert parsed.cc == ("ciso@contoso.example",)
    assert parsed.date == datetime(2026, 11, 3, 13, 5, tzinfo=UTC)
    assert parsed.date.utcoffset() == timedelta(hours=1)
    assert parsed.subject == "Re: Exposed container (folded)"
    assert parsed.body == "We have closed the container. Grüße.\n"
    assert parsed.message_id == "<abc123@contoso.example>"
    assert len(parsed.attachments) == 1
    attachment = parsed.attachments[0]
    assert attachment.name == "retest.pdf"
    assert attachment.content_type == "application/pdf"
    assert attachment.content == b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n"


def test_an_html_only_message_is_stripped_to_text():
    raw = (
        b"From: a@contoso.example\r\nTo: b@firm.example\r\n"
        b"Date: Mon, 2 Nov 2026 08:00:00 -0500\r\nSubject: html\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{color:red}</style></head><body>"
        b"<p>Line one &amp; more</p><p>Line   two</p><script>alert(1)</script></body></html>"
    )
    parsed = parse_eml(raw)
    assert parsed.body == "Line one & more\n\nLine two"
    assert parsed.date.tzinfo is not None
    assert parsed.date.utcoffset() == timedelta(hours=-5)
    assert parsed.attachments == ()


def test_a_date_without_offset_is_read_as_utc():
    raw = b"From: a@contoso.example\nDate: Mon, 2 Nov 2026 08:00:00 -0000\n\nhello\n"
    parsed = parse_eml(raw)
    assert parsed.date == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    assert parsed.to == () and parsed.body == "hello\n"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "The .eml file is empty."),
        (b"   \n", "The .eml file is empty."),
        (b"just some text, no headers at all\n", "This file is not an e-mail message"),
        (b"%PDF-1.4\n%\xc7\xec\x8f\xa2\n", "This file is not an e-mail message"),
        (b"To: b@firm.example\nDate: Mon, 2 Nov 2026 08:00:00 +0000\n\nhi\n", "no From header"),
        (b"From: a@contoso.example\nSubject: x\n\nhi\n", "no Date header"),
        (b"From: a@contoso.example\nDate: next tuesday\n\nhi\n", "is not a date"),
    ],
)
def test_malformed_messages_are_refused_clearly(raw, message):
    with pytest.raises(ValidationFailed) as caught:
        parse_eml(raw)
    assert message in caught.value.message
    assert caught.value.field == "eml"


def test_html_to_text_keeps_blocks_apart():
    assert html_to_text("<div>a</div><div>b<br>c</div>") == "a\n\nb\nc"
