"""The case actions of the staff UI (/cases/<ref>/actions/<action>/): who may
reach them, each stage action's success and error paths, and the
confirmation before irreversible steps."""

from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages

from disclosure.cases import services
from disclosure.cases.models import Case
from disclosure.comms.models import Communication
from disclosure.evidence.models import DeletionAttestation
from disclosure.ledger.models import CaseEvent
from tests.cases.helpers import JUSTIFICATION, state
from tests.factories import inbound_kwargs, make_case

from .action_helpers import SHA, action_url, ago, local, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def case_at(analyst, vendor):
    def make(stage, **kwargs):
        return make_case(stage, actor=analyst, vendor=vendor, **kwargs)

    return make


# --- who may reach which action ---------------------------------------------

# (action, stage of the case) -> status for each actor, written out from the
# transitions table: 302 sign-in, 404 not staff, 200 the form, 403 not theirs.
ACCESS = [
    # action, stage, anonymous, vendor contact, analyst, lead, legal, admin
    ("notify_vendor", "found", 302, 404, 200, 200, 403, 200),
    ("log_communication", "vendor_notified", 302, 404, 200, 200, 403, 200),
    ("close", "found", 302, 404, 403, 200, 403, 200),
    ("set_legal_hold", "found", 302, 404, 403, 200, 200, 200),
    ("escalate", "vendor_notified", 302, 404, 403, 200, 403, 200),
    ("publish", "secured", 302, 404, 200, 200, 403, 200),
    # Publishing before secured: a lead's override only.
    ("publish", "vendor_notified", 302, 404, 403, 200, 403, 403),
    # Not at this stage, for anyone.
    ("notify_vendor", "vendor_notified", 302, 404, 403, 403, 403, 403),
    ("record_deletion", "vendor_notified", 302, 404, 403, 403, 403, 403),
]
ACTORS = ["anonymous", "vendor_contact", "analyst", "lead", "legal", "admin_user"]


@pytest.mark.parametrize("row", ACCESS, ids=lambda row: f"{row[0]}@{row[1]}")
def test_access_matrix(client, request, case_at, row):
    action, stage, *expected = row
    case = case_at(stage)
    url = action_url(case, action)
    got = []
    for who in ACTORS:
        client.logout()
        if who != "anonymous":
            client.force_login(request.getfixturevalue(who))
        got.append(client.get(url).status_code)
    assert got == list(expected)


@pytest.mark.parametrize("who", ["analyst", "lead", "legal", "admin_user"])
def test_a_refused_post_changes_nothing(client, request, case_at, who):
    case = case_at("found")
    client.force_login(request.getfixturevalue(who))
    before = state(case)
    response = client.post(action_url(case, "close"), {"reason": "invalid", "confirm": "1"})
    expected = 302 if who in ("lead", "admin_user") else 403
    assert response.status_code == expected
    if expected == 403:
        assert state(case) == before


def test_the_anonymous_are_sent_to_sign_in(client, case_at):
    case = case_at("found")
    response = client.post(action_url(case, "notify_vendor"), {})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    "path",
    [
        "/cases/DSC-2026-9999/actions/notify_vendor/",  # no such case
        "{case}/actions/no_such_action/",
        "{case}/actions/countersign_attestation/",  # the vendor's, never the staff UI's
    ],
)
def test_unknown_cases_and_actions_are_404(client, analyst, case_at, path):
    case = case_at("found")
    client.force_login(analyst)
    url = path.format(case=f"/cases/{case.reference}")
    assert client.get(url).status_code == 404
    assert client.post(url, {}).status_code == 404


def test_a_case_the_vendor_contact_may_see_is_still_404_here(client, vendor_contact, case_at):
    case = case_at("vendor_notified")
    client.force_login(vendor_contact)
    assert client.get(action_url(case, "acknowledge")).status_code == 404


# --- the forms ----------------------------------------------------------------

FORMS = [
    (
        "notify_vendor",
        "found",
        ["occurred_at", "channel", "sender", "recipients", "attachments", "note", "note_shared"],
    ),
    ("acknowledge", "vendor_notified", ["occurred_at", "note", "note_shared"]),
    (
        "secure",
        "vendor_notified",
        ["occurred_at", "retest_result", "confirmation", "evidence", "note_shared"],
    ),
    (
        "record_deletion",
        "secured",
        [
            "items",
            "method",
            "tool",
            "performed_by",
            "performed_at",
            "verified_by",
            "verification",
            "retained_metadata",
            "retention_reason",
            "evidence",
            "confirm",
        ],
    ),
    ("publish", "secured", ["occurred_at", "url", "title"]),
    ("close", "found", ["reason", "occurred_at", "note", "note_shared"]),
    (
        "log_communication",
        "found",
        [
            "direction",
            "channel",
            "eml",
            "occurred_at",
            "sender",
            "recipients",
            "subject",
            "body",
            "attachments",
        ],
    ),
    ("attach_evidence", "found", ["file", "kind", "description", "captured_at"]),
    (
        "file_dispute",
        "found",
        [
            "subject",
            "firm_position",
            "firm_provenance",
            "vendor_position",
            "vendor_provenance",
            "filed_at",
        ],
    ),
    ("correct_event", "found", ["seq", "reason", "occurred_at", "statement"]),
    ("set_legal_hold", "found", ["reason"]),
    (
        "escalate",
        "vendor_notified",
        ["target", "organization", "their_reference", "reason", "escalated_at"],
    ),
    (
        "update_details",
        "found",
        [
            "title",
            "vendor",
            "asset_identifier",
            "records_by_kind",
            "time_zone",
            "policy",
            "assignee",
        ],
    ),
    (
        "open_follow_up",
        "secured",
        [
            "found_at",
            "how_found",
            "title",
            "asset_identifier",
            "exposure_evidence",
            "evidence_kind",
        ],
    ),
]


@pytest.mark.parametrize("action, stage, fields", FORMS)
def test_every_form_labels_its_inputs_and_names_the_time_zone(
    client, admin_user, vendor, analyst, action, stage, fields
):
    case = make_case(stage, actor=analyst, vendor=vendor, time_zone="Asia/Tokyo")
    client.force_login(admin_user)
    response = client.get(action_url(case, action))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Times are in the case's time zone, <strong>Asia/Tokyo</strong>" in html
    for name in fields:
        assert f'<label for="id_{name}"' in html, name
    if any(n in fields for n in ("evidence", "attachments", "file", "eml", "exposure_evidence")):
        assert 'enctype="multipart/form-data"' in html


def test_time_inputs_are_read_in_the_case_time_zone(client, analyst, vendor):
    case = make_case("vendor_notified", actor=analyst, vendor=vendor, time_zone="Asia/Tokyo")
    client.force_login(analyst)
    page = client.get(action_url(case, "acknowledge")).content.decode()
    assert "In the case&#x27;s time zone, Asia/Tokyo (UTC+09:00)." in page
    when = datetime.now(UTC).replace(second=0, microsecond=0)
    tokyo = local(when.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")))
    response = client.post(action_url(case, "acknowledge"), {"occurred_at": tokyo})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.vendor_acknowledged_at == when


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


def test_close_after_the_confirm_page(client, lead, case_at):
    case = case_at("found")
    client.force_login(lead)
    data = {"reason": "invalid", "note": "Test data only", "note_shared": ""}
    before = state(case)
    first = client.post(action_url(case, "close"), data)
    assert first.status_code == 200 and b"Confirm: Close case" in first.content
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
    client, lead, case_at, action, stage, data, field, text
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
    client, analyst, lead, case_at, changes, field, text
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
