"""The compose page's template picker in place (htmx): the endpoint that
answers the subject and text fields filled from a template, who may call
it, and the compose page wired to it (still working without JavaScript)."""

import pytest

from disclosure.cases.stages import Stage
from disclosure.comms.models import MailTemplate, OutboxMessage
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DISCLOSURE_MAIL_DOMAIN = "firm.example"


@pytest.fixture
def case(analyst, vendor, firm):
    vendor.security_contacts = ["psirt@contoso.example"]
    vendor.save()
    MailTemplate.objects.create(
        key="follow_up",
        subject="Still open: {{ case.title }}",
        body="Hello {{ vendor.name }} <team>,\nplease answer.\n",
    )
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor, title="Open bucket")


def fill_url(case, key="follow_up") -> str:
    return f"/cases/{case.reference}/actions/send_mail/template/?template={key}"


def test_the_fields_come_filled_and_alone(client, analyst, case):
    client.force_login(analyst)
    r = client.get(fill_url(case), HTTP_HX_REQUEST="true")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.strip().startswith('<div id="mail-text-fields">')
    assert 'value="Still open: Open bucket"' in html
    assert "Hello Contoso &lt;team&gt;,\nplease answer.\n</textarea>" in html
    assert '<input type="hidden" name="template_key" value="follow_up"' in html
    # Only the text: the recipients and the files are not in it (they stay on the page).
    for name in ('name="to"', 'name="cc"', 'name="attachments"', 'name="attach_evidence"'):
        assert name not in html
    assert "<script" not in html and "style=" not in html
    assert "<html" not in html  # a fragment, not a page


def test_the_first_notice_template_asks_where_the_address_was_found(client, analyst, case):
    client.force_login(analyst)
    html = client.get(fill_url(case, "first_notice")).content.decode()
    assert 'name="found_at_source"' in html
    assert 'name="found_at_source"' not in client.get(fill_url(case)).content.decode()


def test_no_template_changes_nothing(client, analyst, case):
    client.force_login(analyst)
    r = client.get(fill_url(case, ""))
    assert (r.status_code, r.content) == (204, b"")


def test_an_unknown_template_is_404(client, analyst, case):
    client.force_login(analyst)
    assert client.get(fill_url(case, "ransom_note")).status_code == 404


def test_who_may_fill(client, case, legal, vendor_contact, other_vendor_contact, lead):
    r = client.get(fill_url(case))
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    for user, status in [(vendor_contact, 404), (other_vendor_contact, 404), (legal, 403),
                         (lead, 200)]:  # fmt: skip
        client.force_login(user)
        assert client.get(fill_url(case)).status_code == status, user
    client.force_login(lead)
    assert client.get("/cases/DSC-2099-9999/actions/send_mail/template/?template=follow_up"
                      ).status_code == 404  # fmt: skip


def test_the_endpoint_only_reads(client, analyst, case):
    client.force_login(analyst)
    r = client.post(fill_url(case), {})
    assert r.status_code == 405
    assert not OutboxMessage.objects.exists()


def test_the_compose_page_wires_the_picker_and_keeps_the_button(client, analyst, case):
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/actions/send_mail/").content.decode()
    assert (
        f'hx-get="/cases/{case.reference}/actions/send_mail/template/" hx-trigger="change" '
        'hx-target="#mail-text-fields" hx-swap="outerHTML"'
    ) in html
    assert "Fill in subject and text</button>" in html  # without JavaScript
    # The swapped fields sit between the recipients and the files, inside the form.
    form = html[html.index('<form method="post"') :]
    assert (
        form.index('name="to"')
        < form.index('id="mail-text-fields"')
        < form.index('name="attachments"')
    )


def test_the_page_without_javascript_still_fills_by_reloading(client, analyst, case):
    client.force_login(analyst)
    html = client.get(f"/cases/{case.reference}/actions/send_mail/?template=follow_up").content
    assert 'value="Still open: Open bucket"' in html.decode()


def test_the_template_posted_is_the_one_the_fields_say(client, analyst, case):
    """After an in-place fill the page's address has no ?template=: the
    form's own template_key decides (a first notice may go to a role
    address found elsewhere; a follow-up may not)."""
    client.force_login(analyst)
    body = {"to_other": "security@elsewhere.example", "found_at_source": "rfc2142",
            "subject": "Exposed bucket", "body": "Hello"}  # fmt: skip
    r = client.post(
        f"/cases/{case.reference}/actions/send_mail/", {**body, "template_key": "follow_up"}
    )
    assert r.status_code == 400
    assert not OutboxMessage.objects.exists()
    r = client.post(
        f"/cases/{case.reference}/actions/send_mail/", {**body, "template_key": "first_notice"}
    )
    assert r.status_code == 302, r.content.decode()[:3000]
    assert OutboxMessage.objects.get().recipients == ["security@elsewhere.example"]
