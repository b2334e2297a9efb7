"""Recognising automatic replies and bounces (comms.classify) on messages
written as the real mail systems write them."""

import email
import email.policy

import pytest

from disclosure.comms.classify import classify


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


EXCHANGE_OOO = b"""\
Received: from AM0PR01MB.eurprd01.prod.exchangelabs.com by AM0PR01MB with HTTPS
From: Jane Roe <jane.roe@contoso.example>
To: disclosure+DSC-2026-0001@firm.example
Subject: Automatic reply: [DSC-2026-0001] Exposed storage container
Thread-Topic: [DSC-2026-0001] Exposed storage container
Date: Tue, 3 Nov 2026 14:05:00 +0000
Message-ID: <AM0PR01MB1234ABCD@AM0PR01MB.eurprd01.prod.exchangelabs.com>
In-Reply-To: <first-notice@firm.example>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: jane.roe@contoso.example
Content-Type: text/plain; charset="us-ascii"
MIME-Version: 1.0

I am out of the office until 16 November with limited access to e-mail.
"""

GMAIL_VACATION = b"""\
MIME-Version: 1.0
From: Sam Lee <sam.lee@gmail.example>
Date: Tue, 3 Nov 2026 15:00:00 +0100
Message-ID: <CAF=vacation123@mail.gmail.example>
Subject: Re: [DSC-2026-0001] Exposed storage container
To: disclosure+DSC-2026-0001@firm.example
Auto-Submitted: auto-replied
Precedence: bulk
Content-Type: text/plain; charset="UTF-8"

Thanks for your mail. I am travelling and will answer next week.
"""

POSTFIX_DSN = b"""\
Return-Path: <>
Received: by mx.firm.example (Postfix) id 4ABC123; Tue,  3 Nov 2026 14:05:01 +0000 (UTC)
Date: Tue,  3 Nov 2026 14:05:01 +0000 (UTC)
From: MAILER-DAEMON@mx.firm.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: disclosure@firm.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4ABC123.1700000000/mx.firm.example"
Message-Id: <20261103140501.4ABC123@mx.firm.example>

This is a MIME-encapsulated message.

--4ABC123.1700000000/mx.firm.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.firm.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<security@contoso.example>: host mx.contoso.example[192.0.2.10] said: 550 5.1.1
    <security@contoso.example>: Recipient address rejected: User unknown

--4ABC123.1700000000/mx.firm.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.firm.example
X-Postfix-Queue-ID: 4ABC123
Arrival-Date: Tue,  3 Nov 2026 14:05:00 +0000 (UTC)

Final-Recipient: rfc822; Security@Contoso.example
Original-Recipient: rfc822;security@contoso.example
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.contoso.example
Diagnostic-Code: smtp; 550 5.1.1 <security@contoso.example>: Recipient address
    rejected: User unknown

Final-Recipient: rfc822; ciso@contoso.example
Action: delivered
Status: 2.0.0

--4ABC123.1700000000/mx.firm.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Disclosure <disclosure@firm.example>
To: security@contoso.example, ciso@contoso.example
Subject: [DSC-2026-0001] Exposed storage container
Message-ID: <first-notice@firm.example>
Date: Tue, 3 Nov 2026 14:04:59 +0000

--4ABC123.1700000000/mx.firm.example--
"""

RFC3464_WITH_MESSAGE = b"""\
From: Mail Delivery Subsystem <mailer-daemon@googlemail.example>
To: disclosure@firm.example
Subject: Delivery Status Notification (Failure)
Date: Tue, 3 Nov 2026 14:05:00 +0000
Message-ID: <dsn-1@googlemail.example>
MIME-Version: 1.0
Content-Type: multipart/report; boundary="b1"; report-type=delivery-status

--b1
Content-Type: text/plain; charset="UTF-8"

Your message wasn't delivered to old@contoso.example because the address couldn't be found.

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.example

Final-Recipient: rfc822; old@contoso.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 The email account that you tried to reach does not exist.

--b1
Content-Type: message/rfc822

From: Disclosure <disclosure@firm.example>
To: old@contoso.example
Subject: [DSC-2026-0001] Follow-up
Message-ID: <follow-up-1@firm.example>
Date: Tue, 3 Nov 2026 14:04:00 +0000

The follow-up text.

--b1--
"""

DELAYED_DSN = RFC3464_WITH_MESSAGE.replace(
    b"Action: failed\nStatus: 5.1.1", b"Action: delayed\nStatus: 4.4.1"
)

EXIM_BOUNCE = b"""\
Return-path: <>
From: Mail Delivery System <Mailer-Daemon@mail.contoso.example>
To: disclosure@firm.example
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1abc-0001@mail.contoso.example>
X-Failed-Recipients: gone@contoso.example
Auto-Submitted: auto-replied
Date: Tue, 03 Nov 2026 14:05:00 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  gone@contoso.example
    No such person at this address.

------ This is a copy of the message, including all the headers. ------

Message-ID: <exim-original@firm.example>
Subject: [DSC-2026-0001] Exposed storage container
"""

QMAIL_BOUNCE = b"""\
From: MAILER-DAEMON@mx.fabrikam.example
To: disclosure@firm.example
Subject: failure notice
Date: Tue, 03 Nov 2026 14:05:00 +0000

Hi. This is the qmail-send program at mx.fabrikam.example.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<nobody@fabrikam.example>:
Sorry, no mailbox here by that name. (#5.1.1)
"""

PERSON = b"""\
From: Security Team <security@contoso.example>
To: disclosure+DSC-2026-0001@firm.example
Subject: Re: [DSC-2026-0001] Exposed storage container
Date: Tue, 3 Nov 2026 16:00:00 +0000
Message-ID: <reply-1@contoso.example>
Auto-Submitted: no
Precedence: list

We closed the container this morning. Out of office tomorrow, though.
"""


def test_an_exchange_out_of_office_is_an_automatic_reply():
    c = classify(parse(EXCHANGE_OOO))
    assert (c.kind, c.failed) == ("auto_reply", ())
    assert c.reason == "Auto-Submitted: auto-generated"


def test_a_gmail_vacation_reply_is_an_automatic_reply():
    assert classify(parse(GMAIL_VACATION)).kind == "auto_reply"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        (b"X-Autoreply: yes\n", "the x-autoreply header"),
        (b"X-Autorespond: Vacation\n", "the x-autorespond header"),
        (b"Precedence: auto_reply\n", "Precedence: auto_reply"),
        (b"Precedence: junk\n", "Precedence: junk"),
    ],
)
def test_automatic_reply_headers(headers, reason):
    raw = headers + b"From: a@contoso.example\nSubject: Hello\n\nText\n"
    assert (classify(parse(raw)).kind, classify(parse(raw)).reason) == ("auto_reply", reason)


@pytest.mark.parametrize(
    "subject",
    ["Automatic reply: Your message", "Out of Office: x", "AUTO: away", "Abwesenheitsnotiz: x"],
)
def test_out_of_office_subjects(subject):
    raw = f"From: a@contoso.example\nSubject: {subject}\n\nAway.\n".encode()
    assert classify(parse(raw)).kind == "auto_reply"


def test_a_person_s_reply_is_no_automated_message():
    c = classify(parse(PERSON))
    assert (c.kind, c.failed, c.bounced_message_id) == ("", (), "")


def test_a_postfix_delivery_report_names_the_failed_recipient_and_the_bounced_message():
    c = classify(parse(POSTFIX_DSN))
    assert c.kind == "bounce"
    assert c.failed == ("security@contoso.example",)  # not ciso@, which was delivered
    assert c.bounced_message_id == "<first-notice@firm.example>"
    assert c.diagnostics["security@contoso.example"].startswith("5.1.1 smtp; 550 5.1.1")


def test_an_rfc3464_report_returning_the_whole_message():
    c = classify(parse(RFC3464_WITH_MESSAGE))
    assert (c.kind, c.failed) == ("bounce", ("old@contoso.example",))
    assert c.bounced_message_id == "<follow-up-1@firm.example>"


def test_a_delay_report_is_automated_but_no_failure():
    c = classify(parse(DELAYED_DSN))
    assert (c.kind, c.failed) == ("auto_reply", ())
    assert c.bounced_message_id == "<follow-up-1@firm.example>"


def test_a_classic_exim_bounce():
    c = classify(parse(EXIM_BOUNCE))
    assert (c.kind, c.failed) == ("bounce", ("gone@contoso.example",))
    assert c.bounced_message_id == "<exim-original@firm.example>"


def test_a_classic_qmail_bounce():
    c = classify(parse(QMAIL_BOUNCE))
    assert (c.kind, c.failed, c.bounced_message_id) == ("bounce", ("nobody@fabrikam.example",), "")


def test_a_broken_report_is_still_recognised_without_addresses():
    raw = (
        b"From: MAILER-DAEMON@mx.example\nSubject: Undeliverable: x\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=zz\n\n"
        b"--zz\nContent-Type: message/delivery-status\n\n\xff\xfe garbage\n"
    )
    c = classify(parse(raw))
    assert c.kind == "auto_reply"  # a report naming no failed recipient
    assert c.failed == ()
