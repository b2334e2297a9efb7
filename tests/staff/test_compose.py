"""Staff write to the vendor from the case page: compose from a template,
reply to a message, see each outbound e-mail's delivery on the
communications tab; and the mail templates' pages."""

import email
import email.policy
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms.models import (
    Communication,
    MailTemplate,
    OutboxMessage,
    OutboxStatus,
)
from disclosure.comms.outbound import send_case_mail
from disclosure.comms.services import log_communication
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from tests.factories import inbound_kwargs, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "disclosure@firm.example"
    settings.DISCLOSURE_MAIL_DOMAIN = "firm.example"
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"


@pytest.fixture
def found(analyst, vendor, firm):
    vendor.security_contacts = ["psirt@contoso.example"]
    vendor.save()
    return make_case(Stage.FOUND, actor=analyst, vendor=vendor, title="Open bucket")


def url(case, query=""):
    return f"/cases/{case.reference}/actions/send_mail/{query}"


def vendor_mail():
    return [
        email.message_from_bytes(bytes(row.raw), policy=email.policy.default)
        for row in OutboxMessage.objects.filter(purpose="vendor_mail").order_by("id")
    ]


def written(case):
    return (
        Communication.objects.filter(case=case).count(),
        OutboxMessage.objects.count(),
        EvidenceFile.objects.filter(case=case).count(),
        Case.objects.get(pk=case.pk).stage,
    )


def test_first_notice_from_the_template_records_the_notification(
    client, analyst, found, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    page = client.get(url(found, "?template=first_notice"))
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["subject"] == "Exposed data of Contoso: Open bucket"
    assert "Hello Contoso security team," in form.initial["body"]
    assert form.initial["record_notified"] is True
    assert form.initial["to"] == ["psirt@contoso.example"]
    assert "found_at_source" in form.fields
    html = page.content.decode()
    assert "psirt@contoso.example (security contact)" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(found, "?template=first_notice"),
            {
                "template_key": "first_notice",
                "to": ["psirt@contoso.example"],
                "subject": "Exposed data of Contoso: Open bucket",
                "body": "Hello, your bucket is open.",
                "record_notified": "on",
            },
        )
    comm = Communication.objects.get(case=found, direction="outbound")
    assert response.status_code == 302
    assert response["Location"] == (
        f"/cases/{found.reference}/communications/#communication-{comm.pk}"
    )
    assert Case.objects.get(pk=found.pk).stage == Stage.VENDOR_NOTIFIED
    (sent,) = vendor_mail()
    assert sent["Subject"] == f"[{found.reference}] Exposed data of Contoso: Open bucket"
    assert sent["To"] == "psirt@contoso.example"
    assert [m.to for m in mail.outbox if m.extra_headers["Message-ID"] == comm.message_id] == [
        ["psirt@contoso.example"]
    ]
    tab = client.get(f"/cases/{found.reference}/communications/").content.decode()
    assert "<strong>Sent</strong>" in tab
    assert "the server answered <code>handed to django.core.mail.backends.locmem" in tab
    assert "1 attempt ·" in tab
    assert comm.message_id.replace("<", "&lt;").replace(">", "&gt;") in tab
    assert f'href="/cases/{found.reference}/actions/send_mail/?reply={comm.pk}">Reply</a>' in tab
    assert f'href="/cases/{found.reference}/actions/send_mail/" role="button">Write to' in tab


def test_unknown_address_without_source_is_a_form_error_and_nothing_is_written(
    client, analyst, found
):
    client.force_login(analyst)
    before = written(found)
    response = client.post(
        url(found),
        {"to_other": "sec@asset-host.example", "subject": "Hello", "body": "Open bucket."},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["found_at_source"][0].startswith(
        "sec@asset-host.example is not a known address of Contoso: say where you found it"
    )
    assert "Nothing was sent: correct the fields marked below." in response.content.decode()
    assert written(found) == before
    response = client.post(url(found), {"subject": "Hello", "body": "Open bucket."})
    assert response.status_code == 400
    assert response.context["form"].errors["to"] == ["Choose or type at least one address."]
    assert written(found) == before


def test_first_notice_to_a_security_txt_address(
    client, analyst, found, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(found),
            {
                "to_other": "Security Team <sec@asset-host.example>",
                "found_at_source": "https://asset-host.example/.well-known/security.txt",
                "subject": "Hello",
                "body": "Open bucket.",
            },
        )
    assert response.status_code == 302
    assert vendor_mail()[0]["To"] == "Security Team <sec@asset-host.example>"
    assert Case.objects.get(pk=found.pk).stage == Stage.FOUND  # not asked to record it


def test_reply_to_a_vendor_message_threads_it(
    client, analyst, found, django_capture_on_commit_callbacks
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        first = send_case_mail(
            actor=analyst,
            case=found,
            to=["psirt@contoso.example"],
            subject="Open bucket",
            body="Hello",
            record_notified=True,
        )
    answer = log_communication(
        actor=analyst, case=found,
        **inbound_kwargs(now(), sender="psirt@contoso.example", subject=first.subject,
                         body="We are on it."),
    )  # fmt: skip
    Communication.objects.filter(pk=answer.pk).update(
        message_id="<answer-1@contoso.example>", references=first.message_id
    )
    page = client.get(url(found, f"?reply={answer.pk}"))
    initial = page.context["form"].initial
    assert initial["to"] == ["psirt@contoso.example"]
    assert initial["subject"] == f"Re: [{found.reference}] Open bucket"
    assert initial["body"] == "\n\n> We are on it.\n"
    assert initial["in_reply_to"] == answer.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(found),
            {
                "to": ["psirt@contoso.example"],
                "subject": initial["subject"],
                "body": "Thank you.",
                "in_reply_to": str(answer.pk),
            },
        )
    assert response.status_code == 302
    reply = vendor_mail()[-1]
    assert reply["Subject"] == f"Re: [{found.reference}] Open bucket"
    assert reply["In-Reply-To"] == "<answer-1@contoso.example>"
    assert reply["References"] == f"{first.message_id} <answer-1@contoso.example>"
    assert client.get(url(found, "?reply=999999")).status_code == 404


def test_attach_existing_evidence_and_a_new_file(
    client, analyst, found, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    capture_file = EvidenceFile.objects.get(case=found)
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url(found),
            {
                "to": ["psirt@contoso.example"],
                "subject": "Files",
                "body": "See attached.",
                "attach_evidence": [str(capture_file.pk)],
                "attachments": [SimpleUploadedFile("steps.txt", b"close it\n")],
            },
        )
    assert response.status_code == 302
    names = sorted(p.get_filename() for p in vendor_mail()[0].iter_attachments())
    assert names == ["capture.txt", "steps.txt"]


def test_delivery_failure_and_retry_are_shown(client, analyst, found):
    comm = send_case_mail(actor=analyst, case=found, to=["psirt@contoso.example"],
                          subject="Hello", body="Text")  # fmt: skip
    OutboxMessage.objects.filter(pk=comm.outbox.pk).update(
        status=OutboxStatus.FAILED, attempts=3, last_error="SMTPRecipientsRefused: 550 no such user"
    )
    client.force_login(analyst)
    tab = client.get(f"/cases/{found.reference}/communications/").content.decode()
    assert "<strong>Failed</strong>: <code>SMTPRecipientsRefused: 550 no such user</code>" in tab
    assert "3 attempts ·" in tab
    OutboxMessage.objects.filter(pk=comm.outbox.pk).update(
        status=OutboxStatus.QUEUED, attempts=1, last_error="SMTPServerDisconnected: gone",
        next_attempt_at=datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
    )  # fmt: skip
    tab = client.get(f"/cases/{found.reference}/communications/").content.decode()
    assert "<strong>Queued</strong>, retrying <time" in tab
    assert "2026-12-03 10:00 UTC</time> after <code>SMTPServerDisconnected: gone</code>" in tab


def test_communications_tab_query_count_does_not_grow_with_mails(
    client, analyst, found, django_assert_max_num_queries
):
    client.force_login(analyst)
    send_case_mail(actor=analyst, case=found, to=["psirt@contoso.example"], subject="1",
                   body="Text", record_notified=True)  # fmt: skip
    path = f"/cases/{found.reference}/communications/"
    with CaptureQueriesContext(connection) as one:
        client.get(path)
    for i in range(5):
        send_case_mail(actor=analyst, case=found, to=["psirt@contoso.example"],
                       subject=f"More {i}", body="Text")  # fmt: skip
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(path)
    assert len(response.context["communications"]) == 6


# --- who may write ------------------------------------------------------------


def test_legal_sees_no_button_and_gets_403(client, legal, found):
    client.force_login(legal)
    assert client.get(url(found)).status_code == 403
    tab = client.get(f"/cases/{found.reference}/communications/").content.decode()
    assert "Write to the vendor" not in tab


@pytest.mark.parametrize("who", ["vendor_contact", "other_vendor_contact", "outsider"])
def test_non_staff_get_404(client, who, request, analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    client.force_login(request.getfixturevalue(who))
    assert client.get(url(case)).status_code == 404
    assert client.post(url(case), {"to": ["security@contoso.example"]}).status_code == 404
    assert not Communication.objects.filter(case=case, channel="email", message_id__gt="").exists()


def test_anonymous_is_sent_to_sign_in(client, found):
    response = client.get(url(found))
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_case_actions_link_to_the_compose_page(client, analyst, found):
    client.force_login(analyst)
    page = client.get(found.get_absolute_url()).content.decode()
    assert f'<a href="/cases/{found.reference}/actions/send_mail/">Write to the vendor</a>' in page


# --- templates ----------------------------------------------------------------


def test_a_lead_edits_and_resets_a_template(client, lead):
    client.force_login(lead)
    listing = client.get("/mail/templates/")
    assert listing.status_code == 200
    assert 'href="/mail/templates/follow_up/">Edit</a>' in listing.content.decode()
    edit = {"subject": "Any news on {{ case.reference }}?", "body": "Hello"}
    response = client.post("/mail/templates/follow_up/", edit)
    assert response.status_code == 302
    row = MailTemplate.objects.get(key="follow_up")
    assert (row.subject, row.body, row.updated_by) == (
        "Any news on {{ case.reference }}?",
        "Hello",
        lead,
    )
    assert "Edited by" in client.get("/mail/templates/").content.decode()
    assert client.post("/mail/templates/follow_up/reset/").status_code == 302
    assert not MailTemplate.objects.exists()


def test_an_unknown_placeholder_is_a_form_error(client, lead):
    client.force_login(lead)
    response = client.post("/mail/templates/follow_up/",
                           {"subject": "S", "body": "Dear {{ user.password }}"})  # fmt: skip
    assert response.status_code == 400
    assert (
        response.context["form"]
        .errors["body"][0]
        .startswith("Unknown placeholder {{ user.password }}.")
    )
    assert not MailTemplate.objects.exists()


def test_an_analyst_reads_but_does_not_edit_templates(client, analyst):
    client.force_login(analyst)
    listing = client.get("/mail/templates/").content.decode()
    assert "Leads and admins edit them." in listing
    assert "/mail/templates/follow_up/" not in listing
    assert client.get("/mail/templates/follow_up/").status_code == 403
    assert (
        client.post("/mail/templates/follow_up/", {"subject": "S", "body": "B"}).status_code == 403
    )
    assert client.post("/mail/templates/follow_up/reset/").status_code == 403
    assert client.get("/mail/templates/bogus/").status_code == 404
    assert not MailTemplate.objects.exists()
