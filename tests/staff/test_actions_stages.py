"""The stage actions of the staff UI: notify, acknowledge, secure, record
deletion, publish and close; each succeeds with valid input, changes nothing
on an error, and the irreversible ones ask for confirmation first."""

import pytest
from django.contrib.messages import get_messages

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.comms.models import Communication
from disclosure.evidence.models import DeletionAttestation
from disclosure.ledger.models import CaseEvent
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import inbound_kwargs

from .action_helpers import SHA, action_url, ago, upload

pytestmark = pytest.mark.django_db


# --- stage actions: success ---------------------------------------------------


def test_notify_vendor(client, analyst, case_at):
    case = case_at("found")
    client.force_login(analyst)
    response = client.post(
        action_url(case, "notify_vendor"),
        {
            "occurred_at": ago(days=1),
            "channel": "email",
            "sender": "research@firm.example",
            "recipients": "security@contoso.example\n\ncto@contoso.example",
            "subject": "Exposed container",
            "body": "Your container is open.",
            "attachments": [upload(b"notice pdf", "notice.pdf")],
            "note": "Sent by the lead's instruction.",
            "note_shared": "on",
        },
        follow=False,
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/"
    case.refresh_from_db()
    assert case.stage == "vendor_notified"
    comm = Communication.objects.get(case=case)
    assert comm.recipients == ["security@contoso.example", "cto@contoso.example"]
    assert [f.kind for f in comm.attachments.all()] == ["attachment"]
    # A shared note is in the stage event itself, not an internal note event.
    stage_event = CaseEvent.objects.get(case=case, kind="stage_changed")
    assert stage_event.payload["note"] == "Sent by the lead's instruction."
    assert not CaseEvent.objects.filter(case=case, kind="note_added").exists()


def test_a_stage_note_is_internal_unless_shared(client, analyst, case_at):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    response = client.post(
        action_url(case, "acknowledge"), {"occurred_at": ago(hours=1), "note": "By phone."}
    )
    assert response.status_code == 302
    note = CaseEvent.objects.get(case=case, kind="note_added")
    assert (note.internal, note.payload["note"]) == (True, "By phone.")


def test_success_shows_a_message_on_the_next_page(client, analyst, case_at):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    response = client.post(action_url(case, "acknowledge"), {"occurred_at": ago(hours=1)})
    assert response.status_code == 302
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == ["Acknowledgement recorded."]


def test_secure_on_the_vendors_confirmation(client, analyst, case_at):
    case = case_at("vendor_notified")
    comm = services.log_communication(
        actor=analyst, case=case, **inbound_kwargs(case.vendor_notified_at)
    )
    client.force_login(analyst)
    page = client.get(action_url(case, "secure")).content.decode()
    assert f'<option value="{comm.pk}">' in page
    when = comm.occurred_at
    assert f"{when:%Y-%m-%d %H:%M} UTC · security@contoso.example" in page  # a UTC case
    response = client.post(
        action_url(case, "secure"),
        {"occurred_at": ago(hours=2), "confirmation": comm.pk, "evidence": [upload()]},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.stage == "secured"
    assert case.evidence.filter(kind="retest_result").count() == 1


def deletion_data(analyst, lead, **changes):
    return {
        "items": f"copies/container.tar, 1_024, {SHA}\ncopies/a, b.csv, 10, {SHA.upper()}",
        "method": "purge",
        "tool": "shred 9.1",
        "performed_by": analyst.pk,
        "performed_at": ago(hours=3),
        "verified_by": lead.pk,
        "verification": "Listed the volume: nothing remains.",
        "retained_metadata": "domain\ncompany name",
        "retention_reason": "To answer questions",
        "evidence": [upload(b"shred log", "shred.log")],
        "confirm": "on",
        **changes,
    }


def test_record_deletion(client, analyst, lead, case_at):
    case = case_at("secured")
    client.force_login(analyst)
    response = client.post(action_url(case, "record_deletion"), deletion_data(analyst, lead))
    assert response.status_code == 302
    attestation = DeletionAttestation.objects.get(case=case)
    assert attestation.items == [
        {"path": "copies/container.tar", "bytes": 1024, "sha256": SHA},
        {"path": "copies/a, b.csv", "bytes": 10, "sha256": SHA},
    ]
    assert attestation.verified_by == lead
    assert attestation.retained_metadata == ["domain", "company name"]
    assert [f.kind for f in attestation.evidence.all()] == ["deletion_log"]


def test_publish_after_the_confirm_page(client, analyst, case_at):
    case = case_at("secured")
    client.force_login(analyst)
    data = {"occurred_at": ago(hours=1), "url": "https://firm.example/a", "title": "Advisory"}
    before = state(case)
    first = client.post(action_url(case, "publish"), data)
    assert first.status_code == 200
    html = first.content.decode()
    assert "Confirm: Record publication" in html
    assert "<dt>Advisory URL</dt>" in html
    assert '<input type="hidden" name="url" value="https://firm.example/a">' in html
    assert '<input type="hidden" name="confirm" value="1">' in html
    assert state(case) == before
    second = client.post(action_url(case, "publish"), {**data, "confirm": "1"})
    assert second.status_code == 302
    case.refresh_from_db()
    assert (case.stage, case.publication_url) == ("published", "https://firm.example/a")


def test_a_lead_publishes_before_secured_with_a_justification(client, lead, case_at):
    case = case_at("vendor_notified")
    client.force_login(lead)
    page = client.get(action_url(case, "publish")).content.decode()
    assert '<label for="id_override_justification"' in page
    data = {"occurred_at": ago(hours=1), "url": "https://firm.example/a", "title": "Advisory"}
    before = state(case)
    short = client.post(
        action_url(case, "publish"), {**data, "override_justification": "because", "confirm": "1"}
    )
    assert short.status_code == 400
    assert 'id="id_override_justification_errors"' in short.content.decode()
    assert state(case) == before
    ok = client.post(
        action_url(case, "publish"),
        {**data, "override_justification": JUSTIFICATION, "confirm": "1"},
    )
    assert ok.status_code == 302
    case.refresh_from_db()
    assert case.stage == "published"


def test_the_override_field_is_only_for_those_who_may_override(client, lead, analyst, case_at):
    case = case_at("secured")
    client.force_login(lead)
    assert b"override_justification" not in client.get(action_url(case, "publish")).content
    client.force_login(analyst)
    assert b"override_justification" not in client.get(action_url(case, "publish")).content


def test_a_published_case_closes_as_published_by_default(client, lead, case_at):
    case = case_at("published")
    client.force_login(lead)
    page = client.get(action_url(case, "close")).content.decode()
    assert '<option value="published" selected>' in page


def test_close_after_the_confirm_page(client, lead, case_at):
    case = case_at("found")
    client.force_login(lead)
    data = {"reason": "invalid", "note": "Test data only", "note_shared": ""}
    before = state(case)
    first = client.post(action_url(case, "close"), data)
    assert first.status_code == 200 and b"Confirm: Close case" in first.content
    assert '<dt>Close reason</dt><dd class="confirm-value">Invalid</dd>' in first.content.decode()
    assert state(case) == before
    assert client.post(action_url(case, "close"), {**data, "confirm": "1"}).status_code == 302
    case.refresh_from_db()
    assert (case.stage, case.close_reason) == ("closed", "invalid")


# --- stage actions: errors change nothing ---------------------------------------

STAGE_ERRORS = [
    # action, stage, data, field with the error (None: the form's), text
    (
        "notify_vendor",
        "found",
        {
            "occurred_at": ago(days=1),
            "channel": "email",
            "sender": "a",
            "recipients": "",
            "body": "x",
        },
        "recipients",
        "required",
    ),
    (
        "notify_vendor",
        "found",
        {
            "occurred_at": ago(days=30),
            "channel": "email",
            "sender": "a",
            "recipients": "b",
            "body": "x",
        },
        "occurred_at",
        "before",
    ),
    (
        "notify_vendor",
        "found",
        {
            "occurred_at": ago(days=-2),
            "channel": "email",
            "sender": "a",
            "recipients": "b",
            "body": "x",
        },
        "occurred_at",
        "future",
    ),
    (
        "acknowledge",
        "vendor_notified",
        {"occurred_at": "not a time"},
        "occurred_at",
        "Enter a valid date/time.",
    ),
    (
        "secure",
        "vendor_notified",
        {"occurred_at": ago(hours=1)},
        "retest_result",
        "needs a re-test result",
    ),
    (
        "publish",
        "secured",
        {"occurred_at": ago(hours=1), "url": "not a url", "title": "A", "confirm": "1"},
        "url",
        "Enter a valid URL.",
    ),
    ("close", "found", {"reason": "published", "confirm": "1"}, "reason", "Only a published case"),
    ("close", "found", {"reason": "not_published", "confirm": "1"}, "note", "Say why"),
    ("close", "found", {"reason": "sideways", "confirm": "1"}, "reason", "Select a valid choice"),
]


@pytest.mark.parametrize("action, stage, data, field, text", STAGE_ERRORS)
def test_stage_action_errors_change_nothing(
    client, case_at, lead, action, stage, data, field, text
):
    case = case_at(stage)
    client.force_login(lead)
    before = state(case)
    response = client.post(action_url(case, action), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert text in html
    assert "Nothing was recorded" in html
    if field:
        assert f'id="id_{field}_errors"' in html
    assert state(case) == before


@pytest.mark.parametrize(
    "changes, field, text",
    [
        ({"confirm": ""}, "confirm", "This field is required."),
        ({"items": "copies/x.tar, 10"}, "items", "is not &#x27;path, bytes, sha256&#x27;"),
        ({"items": "copies/x.tar, ten, " + SHA}, "items", "is not a number of bytes"),
        ({"items": "copies/x.tar, 10, abc"}, "items", "needs a SHA-256"),
        ({"items": ""}, "items", "This field is required."),
        ("self-verified", "verified_by", ""),
        ({"performed_at": ago(days=20)}, "performed_at", "before"),
        ({"method": "burn"}, "method", "Select a valid choice"),
    ],
)
def test_record_deletion_errors_change_nothing(
    client, case_at, analyst, lead, changes, field, text
):
    case = case_at("secured")
    client.force_login(analyst)
    if changes == "self-verified":
        changes = {"verified_by": analyst.pk}
    before = state(case)
    response = client.post(
        action_url(case, "record_deletion"), deletion_data(analyst, lead, **changes)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_errors"' in html and text in html
    assert state(case) == before
    assert Case.objects.get(pk=case.pk).stage == "secured"
