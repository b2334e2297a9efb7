"""Mail templates (comms.templates): defaults in code, edits by leads and
admins only, placeholders filled from a fixed dictionary and unknown ones
refused when saved."""

import pytest

from disclosure.cases.stages import Stage
from disclosure.comms.models import MailTemplate
from disclosure.comms.templates import (
    DEFAULTS,
    PLACEHOLDERS,
    all_templates,
    edit_mail_template,
    fill,
    get_template,
    render_template,
    reset_mail_template,
)
from disclosure.core.errors import NotPermitted, ValidationFailed
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _site(settings):
    settings.DISCLOSURE_SITE_URL = "https://disclosure.firm.example"
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.FOUND, actor=analyst, vendor=vendor, title="Open bucket",
                     asset_identifier="s3://contoso-backups")  # fmt: skip


def test_five_templates_with_defaults_in_code():
    keys = [t.key for t in all_templates()]
    assert keys == [
        "first_notice",
        "follow_up",
        "confirm_secured",
        "deletion_notice",
        "publication_notice",
    ]
    assert not any(t.edited for t in all_templates())
    assert MailTemplate.objects.count() == 0


def test_every_default_uses_only_known_placeholders():
    import re

    for subject, body in DEFAULTS.values():
        for name in re.findall(r"\{\{(.*?)\}\}", subject + body):
            assert name.strip() in PLACEHOLDERS


def test_first_notice_is_filled_from_the_case(case, analyst, firm):
    analyst.first_name, analyst.last_name = "Ada", "Analyst"
    analyst.save()
    mail = render_template("first_notice", case, analyst)
    assert mail.subject == "Exposed data of Contoso: Open bucket"
    assert "Hello Contoso security team," in mail.body
    assert "Asset:      s3://contoso-backups (S3 bucket, Amazon Web Services)" in mail.body
    assert f"https://disclosure.firm.example/portal/cases/{case.reference}/" in mail.body
    assert f"disclosure+{case.reference}@firm.example" in mail.body
    assert "Ada Analyst\nResearch Firm\n" in mail.body
    assert "{{" not in mail.body and "}}" not in mail.body


def test_fill_replaces_only_whole_known_marks():
    values = {"case.title": "T"}
    assert fill("a {{case.title}} b {{  case.title  }}", values) == "a T b T"
    assert fill("{{ case.__class__ }}", values) == "{{ case.__class__ }}"


def test_a_lead_edits_and_resets_a_template(lead, case):
    saved = edit_mail_template(
        actor=lead, key="follow_up", subject="Reminder {{ case.reference }}",
        body="Dear {{ vendor.name }}, any news?",
    )  # fmt: skip
    assert saved.edited
    assert (saved.subject, saved.body) == ("Reminder {{ case.reference }}",
                                           "Dear {{ vendor.name }}, any news?")  # fmt: skip
    mail = render_template("follow_up", case)
    assert mail.subject == f"Reminder {case.reference}"
    assert mail.body == "Dear Contoso, any news?"
    row = MailTemplate.objects.get(key="follow_up")
    assert row.updated_by == lead
    reset = reset_mail_template(actor=lead, key="follow_up")
    assert not reset.edited
    assert reset.subject == "Follow-up: {{ case.title }}"
    assert MailTemplate.objects.count() == 0


def test_an_admin_may_edit(admin_user):
    assert edit_mail_template(actor=admin_user, key="first_notice", subject="S", body="B").edited


@pytest.mark.parametrize("who", ["analyst", "legal", "vendor_contact", "outsider"])
def test_others_may_not_edit(who, request):
    actor = request.getfixturevalue(who)
    with pytest.raises(NotPermitted, match=r"Only leads and admins may edit the mail templates\."):
        edit_mail_template(actor=actor, key="follow_up", subject="S", body="B")
    with pytest.raises(NotPermitted):
        reset_mail_template(actor=actor, key="follow_up")
    assert MailTemplate.objects.count() == 0


@pytest.mark.parametrize(
    ("subject", "body", "field", "message"),
    [
        ("Hi {{ case.secret }}", "B", "subject",
         "Unknown placeholder {{ case.secret }}. Known placeholders: case.reference,"),
        ("S", "{{ case.vendor.memberships }} and {{ x }}", "body",
         "Unknown placeholders {{ case.vendor.memberships }}, {{ x }}."),
        ("S", "Hello {{ vendor.name", "body", "A placeholder is not closed"),
        ("", "B", "subject", "Give a subject."),
        ("S", "  ", "body", "Give the mail's text."),
        ("two\nlines", "B", "subject", "The subject is one line."),
    ],
)  # fmt: skip
def test_bad_templates_are_refused_and_nothing_saved(lead, subject, body, field, message):
    with pytest.raises(ValidationFailed) as e:
        edit_mail_template(actor=lead, key="follow_up", subject=subject, body=body)
    assert e.value.field == field
    assert e.value.message.startswith(message)
    assert MailTemplate.objects.count() == 0


def test_unknown_key_is_refused(lead):
    with pytest.raises(ValidationFailed, match="Unknown mail template 'bogus'"):
        edit_mail_template(actor=lead, key="bogus", subject="S", body="B")
    with pytest.raises(ValidationFailed, match="Unknown mail template 'bogus'"):
        get_template("bogus")
