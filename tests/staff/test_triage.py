"""The staff UI's received mail (/mail/): the triage list, a message's page
(escaped), attach / new case / discard, who may, and the case page's flags
on received mail."""

import pytest
from django.urls import reverse

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms.inbound import ingest
from disclosure.comms.models import InboundMessage
from tests.comms.test_classify import POSTFIX_DSN
from tests.comms.test_inbound import mail
from tests.staff.test_new_case import form_data

pytestmark = pytest.mark.django_db

LIST = reverse("staff:triage_list")


@pytest.fixture(autouse=True)
def _mail_settings(settings):
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"


@pytest.fixture
def waiting(db):
    raw = mail(
        subject="Open <b>bucket</b> & more",
        sender="Stranger <stranger@elsewhere.example>",
        body="<script>alert('x')</script> see s3://leaky",
        X_Evil="<script>alert(1)</script>",
    )
    return ingest(raw, source="maildir:/inbox")


def detail(row):
    return reverse("staff:triage_detail", args=[row.pk])


# --- who may ------------------------------------------------------------------


def test_anonymous_goes_to_sign_in(client, waiting):
    for url in (LIST, detail(waiting), reverse("staff:triage_count")):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("staff:login"))
    response = client.post(reverse("staff:triage_discard", args=[waiting.pk]), {"reason": "x"})
    assert response.status_code == 302
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"


@pytest.mark.parametrize("who", ["vendor_contact", "outsider"])
def test_no_staff_ui_for_others(client, waiting, who, request):
    client.force_login(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 404
    assert client.get(detail(waiting)).status_code == 404
    assert client.get(reverse("staff:triage_count")).status_code == 404
    url = reverse("staff:triage_discard", args=[waiting.pk])
    assert client.post(url, {"reason": "x"}).status_code == 404
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"


def test_legal_reads_but_does_not_decide(client, waiting, legal):
    client.force_login(legal)
    page = client.get(detail(waiting)).content.decode()
    assert "Discard" not in page and "Attach to the case" not in page
    url = reverse("staff:triage_discard", args=[waiting.pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    assert client.get(reverse("staff:triage_new_case", args=[waiting.pk])).status_code == 403
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"


# --- the list and a message ---------------------------------------------------


def test_the_list_shows_what_waits_and_the_nav_counts_it(client, analyst, waiting, settings):
    ingest(POSTFIX_DSN, source="imap:INBOX")  # an unmatched bounce
    settings.DISCLOSURE_MAIL_MAX_BYTES = 100
    ingest(mail(subject="Huge", message_id="<huge@x>"), source="m")
    client.force_login(analyst)
    page = client.get(LIST).content.decode()
    assert "Stranger &lt;stranger@elsewhere.example&gt;" in page
    assert "Open &lt;b&gt;bucket&lt;/b&gt; &amp; more" in page
    assert "Delivery failure report" in page
    assert "Refused" in page and "more than the 100 allowed" in page
    assert f'hx-get="{reverse("staff:triage_count")}"' in page  # the nav loads the count
    badge = client.get(reverse("staff:triage_count")).content.decode()
    assert badge == '<span class="badge" aria-label="3 waiting">(3)</span>\n'


def test_the_list_s_queries_do_not_grow_with_its_rows(
    client, analyst, django_assert_max_num_queries
):
    for i in range(40):
        ingest(mail(subject=f"tip {i}", message_id=f"<tip-{i}@x>"), source="m")
    client.force_login(analyst)
    client.get(LIST)  # warm the session
    with django_assert_max_num_queries(8):
        response = client.get(LIST)
    assert response.content.decode().count('id="inbound-') == 25
    assert "Page 1 of 2 (40 in all)" in response.content.decode()


def test_a_message_s_page_shows_its_headers_and_text_escaped(client, analyst, waiting):
    client.force_login(analyst)
    page = client.get(detail(waiting)).content.decode()
    assert "X-Evil: &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; see s3://leaky" in page
    assert "<script>alert" not in page
    assert "&lt;reply-1@contoso.example&gt;" in page


# --- decisions ----------------------------------------------------------------


def test_attach_by_reference(client, analyst, waiting, case_at):
    case = case_at(Stage.VENDOR_NOTIFIED)
    client.force_login(analyst)
    url = reverse("staff:triage_attach", args=[waiting.pk])
    response = client.post(url, {"reference": case.reference.lower()})
    assert response.status_code == 302
    assert response.url == reverse(
        "staff:case_tab", kwargs={"reference": case.reference, "tab": "communications"}
    )
    row = InboundMessage.objects.get(pk=waiting.pk)
    assert (row.status, row.case, row.triaged_by) == ("attached", case, analyst)
    page = client.get(response.url).content.decode()
    assert "unknown sender" in page


def test_attach_to_no_such_case(client, analyst, waiting):
    client.force_login(analyst)
    url = reverse("staff:triage_attach", args=[waiting.pk])
    response = client.post(url, {"reference": "DSC-2020-0999"})
    assert response.status_code == 400
    assert "No case DSC-2020-0999." in response.content.decode()
    assert InboundMessage.objects.get(pk=waiting.pk).status == "unmatched"


def test_discard_needs_a_reason(client, analyst, waiting):
    client.force_login(analyst)
    url = reverse("staff:triage_discard", args=[waiting.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    response = client.post(url, {"reason": "Spam"})
    assert response.status_code == 302
    row = InboundMessage.objects.get(pk=waiting.pk)
    assert (row.status, row.triage_reason, row.triaged_by) == ("discarded", "Spam", analyst)
    again = client.post(url, {"reason": "Spam"})
    assert again.status_code == 409
    assert "handled already" in again.content.decode()


def test_open_a_new_case_from_a_message(client, analyst, waiting, vendor):
    client.force_login(analyst)
    url = reverse("staff:triage_new_case", args=[waiting.pk])
    form = client.get(url).content.decode()
    assert 'value="Open &lt;b&gt;bucket&lt;/b&gt; &amp; more"' in form
    response = client.post(url, form_data(vendor, title="Bucket reported by mail"))
    assert response.status_code == 302, response.content.decode()[:3000]
    case = Case.objects.get(title="Bucket reported by mail")
    assert response.url == case.get_absolute_url()
    row = InboundMessage.objects.get(pk=waiting.pk)
    assert (row.status, row.case) == ("new_case", case)


# --- the case page's flags ----------------------------------------------------


def test_the_case_page_flags_received_mail(client, analyst, case_at):
    from disclosure.comms.models import OutboxMessage
    from disclosure.core.timeutils import now

    case = case_at(Stage.VENDOR_NOTIFIED)
    OutboxMessage.objects.create(
        message_id="<first-notice@firm.example>", purpose="vendor_mail", case=case,
        from_email="disclosure@firm.example", recipients=["security@contoso.example"],
        raw=b"x", next_attempt_at=now(), created_at=now(),
    )  # fmt: skip
    ingest(POSTFIX_DSN, source="m")
    ingest(
        mail(subject=f"Automatic reply: [{case.reference}]", message_id="<ooo@x>",
             Auto_Submitted="auto-replied"),
        source="m",
    )  # fmt: skip
    ingest(mail(subject=f"[{case.reference}] hi", message_id="<person@x>"), source="m")
    client.force_login(analyst)
    url = reverse("staff:case_tab", kwargs={"reference": case.reference, "tab": "communications"})
    page = client.get(url).content.decode()
    assert page.count('class="flag flag-bounce">delivery failure</mark>') == 1
    assert page.count('class="flag flag-auto-reply">automatic reply</mark>') == 1
    assert page.count('class="flag flag-unknown-sender">unknown sender</mark>') == 1  # the DSN
