"""The record actions of the staff UI: communications (with .eml upload),
evidence, disputes, corrections, legal hold, escalation, details and
follow-ups. Each succeeds with valid input and changes nothing on an error."""

import hashlib
from datetime import UTC, datetime

import pytest
from django.contrib.messages import get_messages

from disclosure.affected.models import Dispute
from disclosure.cases.models import Case, Escalation
from disclosure.comms.models import Communication
from disclosure.evidence.models import EvidenceFile
from disclosure.ledger.models import CaseEvent
from tests.cases.helpers import state
from tests.comms.test_eml import MULTIPART

from .action_helpers import action_url, ago, upload

pytestmark = pytest.mark.django_db


def post(client, case, action, data):
    return client.post(action_url(case, action), data)


# --- communications -----------------------------------------------------------


def test_log_an_outbound_message(client, analyst, case_at):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    response = post(
        client,
        case,
        "log_communication",
        {
            "direction": "outbound",
            "channel": "email",
            "occurred_at": ago(hours=2),
            "sender": "research@firm.example",
            "recipients": "security@contoso.example",
            "subject": "Reminder",
            "body": "Any news?",
            "attachments": [upload(b"a"), upload(b"b", "b.txt")],
        },
    )
    assert response.status_code == 302
    comm = Communication.objects.filter(case=case).latest("id")
    assert (comm.direction, comm.subject, comm.attachments.count()) == ("outbound", "Reminder", 2)


def test_log_a_call(client, analyst, case_at):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    page = client.get(action_url(case, "log_communication")).content.decode()
    assert '<option value="phone">Phone call</option>' in page
    assert '<option value="other">Meeting or other</option>' in page
    response = post(
        client,
        case,
        "log_communication",
        {
            "direction": "inbound",
            "channel": "phone",
            "occurred_at": ago(hours=1),
            "sender": "Contoso CISO",
            "recipients": "Our lead",
            "body": "They say it is fixed.",
        },
    )
    assert response.status_code == 302
    comm = Communication.objects.filter(case=case).latest("id")
    assert (comm.channel, comm.sender, comm.recipients) == ("phone", "Contoso CISO", ["Our lead"])


def test_an_eml_upload_fills_the_communication(client, analyst, case_at):
    case = case_at("vendor_notified", start=datetime(2026, 10, 20, tzinfo=UTC))
    client.force_login(analyst)
    response = post(
        client,
        case,
        "log_communication",
        {"direction": "inbound", "channel": "email", "eml": upload(MULTIPART, "reply.eml")},
    )
    assert response.status_code == 302
    comm = Communication.objects.filter(case=case).latest("id")
    assert comm.sender == "Contoso Security <security@contoso.example>"
    assert comm.recipients == [
        "Research Team <research@firm.example>",
        "legal@firm.example",
        "cc: ciso@contoso.example",
    ]
    assert comm.occurred_at == datetime(2026, 11, 3, 13, 5, tzinfo=UTC)
    assert comm.subject == "Re: Exposed container (folded)"
    assert comm.body == "We have closed the container. Grüße.\n"
    names = sorted(comm.attachments.values_list("original_name", "kind"))
    assert names == [("reply.eml", "attachment"), ("retest.pdf", "attachment")]
    raw = EvidenceFile.objects.get(case=case, original_name="reply.eml")
    assert raw.sha256 == hashlib.sha256(MULTIPART).hexdigest()


def test_typed_fields_win_over_the_eml(client, analyst, case_at):
    case = case_at("vendor_notified", start=datetime(2026, 10, 20, tzinfo=UTC))
    client.force_login(analyst)
    post(
        client,
        case,
        "log_communication",
        {
            "direction": "inbound",
            "channel": "email",
            "subject": "Our own subject",
            "eml": upload(MULTIPART, "reply.eml"),
        },
    )
    assert Communication.objects.filter(case=case).latest("id").subject == "Our own subject"


@pytest.mark.parametrize(
    "data, field, text",
    [
        ({"eml": upload(b"no headers here\n", "x.eml")}, "eml", "not an e-mail message"),
        (
            {"eml": upload(b"Subject: x\nDate: Mon, 2 Nov 2026 08:00:00 +0000\n\nhi", "x.eml")},
            "eml",
            "no From header",
        ),
        ({"eml": upload(b"From: a@b.example\nSubject: x\n\nhi", "x.eml")}, "eml", "no Date header"),
        ({"sender": "a", "recipients": "b", "body": "x"}, "occurred_at", "Say when it happened"),
        (
            {"occurred_at": ago(hours=1), "recipients": "b", "body": "x"},
            "sender",
            "Say who sent it",
        ),
        ({"occurred_at": ago(hours=1), "sender": "a", "body": "x"}, "recipients", "Say to whom"),
        (
            {"occurred_at": ago(hours=1), "sender": "a", "recipients": "b"},
            "body",
            "needs a subject, a body",
        ),
        (
            {"occurred_at": ago(days=-1), "sender": "a", "recipients": "b", "body": "x"},
            "occurred_at",
            "future",
        ),
    ],
)
def test_log_communication_errors_change_nothing(client, case_at, analyst, data, field, text):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    before = state(case)
    response = post(
        client, case, "log_communication", {"direction": "inbound", "channel": "email", **data}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_errors"' in html and text in html
    assert state(case) == before


# --- evidence, disputes, corrections --------------------------------------------


def test_attach_evidence_and_a_duplicate_is_refused(client, analyst, case_at):
    case = case_at("found")
    client.force_login(analyst)
    data = {"kind": "screenshot", "description": "Index page", "captured_at": ago(hours=5)}
    ok = post(client, case, "attach_evidence", {**data, "file": upload(b"png", "shot.png")})
    assert ok.status_code == 302
    shot = EvidenceFile.objects.get(case=case, original_name="shot.png")
    assert (shot.kind, shot.description) == ("screenshot", "Index page")
    before = state(case)
    again = post(client, case, "attach_evidence", {**data, "file": upload(b"png", "again.png")})
    assert again.status_code == 400
    assert state(case) == before


def test_file_a_dispute(client, analyst, case_at):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    data = {
        "subject": "Number of affected entities",
        "firm_position": "65,000 entities",
        "firm_provenance": "Our count of distinct domains",
        "vendor_position": "Far fewer",
        "vendor_provenance": "Vendor's statement of 2026-11-02",
    }
    before = state(case)
    missing = post(client, case, "file_dispute", {**data, "vendor_position": ""})
    assert (
        missing.status_code == 400 and 'id="id_vendor_position_errors"' in missing.content.decode()
    )
    assert state(case) == before
    assert post(client, case, "file_dispute", data).status_code == 302
    assert Dispute.objects.get(case=case).vendor_position == "Far fewer"


def test_correct_an_event(client, analyst, case_at):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    before = state(case)
    for data, field in [
        ({"seq": "99", "reason": "typo", "statement": "x"}, "seq"),
        ({"seq": "1", "reason": "typo"}, "statement"),
        ({"seq": "1", "reason": "", "statement": "x"}, "reason"),
        ({"seq": "0", "reason": "typo", "statement": "x"}, "seq"),
    ]:
        response = post(client, case, "correct_event", data)
        assert response.status_code == 400, data
        assert f'id="id_{field}_errors"' in response.content.decode(), data
    assert state(case) == before
    response = post(
        client,
        case,
        "correct_event",
        {"seq": "1", "reason": "Wrong asset", "statement": "It was B"},
    )
    assert response.status_code == 302
    correction = CaseEvent.objects.filter(case=case, kind="correction").get()
    assert correction.payload["corrects_seq"] == 1


# --- legal hold, escalation, details, follow-up -----------------------------------


def test_place_and_lift_a_legal_hold(client, legal, case_at):
    case = case_at("found")
    client.force_login(legal)
    page = client.get(action_url(case, "set_legal_hold")).content.decode()
    assert 'value="true"' in page and "checked" in page
    assert (
        post(client, case, "set_legal_hold", {"on": "true", "reason": "Litigation"}).status_code
        == 302
    )
    case.refresh_from_db()
    assert case.legal_hold is True
    before = state(case)
    again = post(client, case, "set_legal_hold", {"on": "true", "reason": "Again"})
    assert again.status_code == 400 and "already under legal hold" in again.content.decode()
    no_reason = post(client, case, "set_legal_hold", {"on": "false", "reason": ""})
    assert no_reason.status_code == 400
    assert state(case) == before
    assert (
        post(client, case, "set_legal_hold", {"on": "false", "reason": "Settled"}).status_code
        == 302
    )
    case.refresh_from_db()
    assert case.legal_hold is False


def test_escalate(client, lead, case_at):
    case = case_at("vendor_notified")
    client.force_login(lead)
    data = {
        "target": "cert",
        "organization": "CERT-EU",
        "their_reference": "T-1",
        "reason": "No answer in 30 days",
        "escalated_at": ago(hours=1),
    }
    before = state(case)
    early = post(client, case, "escalate", {**data, "escalated_at": ago(days=30)})
    assert early.status_code == 400 and 'id="id_escalated_at_errors"' in early.content.decode()
    assert state(case) == before and not Escalation.objects.exists()
    assert post(client, case, "escalate", data).status_code == 302
    assert Escalation.objects.get(case=case).organization == "CERT-EU"


def details_data(case, **changes):
    return {
        "title": case.title,
        "summary": "Now with a summary",
        "vendor": case.vendor_id,
        "asset_provider": case.asset_provider,
        "asset_kind": case.asset_kind,
        "asset_identifier": case.asset_identifier,
        "asset_region": "",
        "how_found": case.how_found,
        "data_categories": ["pii"],
        "volume_bytes": "",
        "volume_objects": "10",
        "records_by_kind": "emails: 5",
        "data_from": "2025-01-01",
        "data_to": "2025-06-30",
        "affected_entity_count": "",
        "affected_country_count": "",
        "severity": "critical",
        "tlp": "red",
        "time_zone": "Europe/Berlin",
        "policy": case.policy_id,
        "assignee": "",
        **changes,
    }


def test_update_details(client, analyst, case_at):
    case = case_at("found")
    client.force_login(analyst)
    page = client.get(action_url(case, "update_details")).content.decode()
    assert 'value="Exposed bucket"' in page
    assert post(client, case, "update_details", details_data(case)).status_code == 302
    case.refresh_from_db()
    assert (case.severity, case.tlp, case.time_zone) == ("critical", "red", "Europe/Berlin")
    assert case.records_by_kind == {"emails": 5}


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"data_from": "2025-07-01"}, "data_to"),
        ({"records_by_kind": "emails"}, "records_by_kind"),
        ({"title": ""}, "title"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
    ],
)
def test_update_details_errors_change_nothing(client, case_at, analyst, changes, field):
    case = case_at("found")
    client.force_login(analyst)
    before = state(case)
    response = post(client, case, "update_details", details_data(case, **changes))
    assert response.status_code == 400
    assert f'id="id_{field}_errors"' in response.content.decode()
    assert state(case) == before


def test_update_details_names_every_unknown_data_category(client, case_at, analyst):
    case = case_at("found")
    client.force_login(analyst)
    before = state(case)
    data = details_data(case, data_categories=["pii", "firmware", "keys"])
    response = post(client, case, "update_details", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_data_categories_errors"' in html
    assert "Unknown data categories &#x27;firmware&#x27;, &#x27;keys&#x27;: use any of" in html
    assert state(case) == before


def test_the_vendor_cannot_change_after_notification(client, case_at, analyst, other_vendor):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    page = client.get(action_url(case, "update_details")).content.decode()
    assert "The vendor cannot change once notified." in page
    response = post(client, case, "update_details", details_data(case, vendor=other_vendor.pk))
    assert response.status_code == 302  # a disabled field keeps its value
    case.refresh_from_db()
    assert case.vendor_id != other_vendor.pk


def test_open_a_follow_up(client, analyst, case_at):
    case = case_at("secured")
    client.force_login(analyst)
    data = {"found_at": ago(hours=1), "how_found": "Scanner again", "evidence_kind": "screenshot"}
    before = state(case)
    missing = post(client, case, "open_follow_up", data)
    assert missing.status_code == 400
    assert 'id="id_exposure_evidence_errors"' in missing.content.decode()
    early = post(
        client,
        case,
        "open_follow_up",
        {**data, "found_at": ago(days=20), "exposure_evidence": [upload()]},
    )
    assert early.status_code == 400 and 'id="id_found_at_errors"' in early.content.decode()
    assert state(case) == before
    response = client.post(
        action_url(case, "open_follow_up"), {**data, "exposure_evidence": [upload()]}
    )
    assert response["Location"] == f"/cases/{case.reference}/"
    follow_up = Case.objects.get(follows_up=case)
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert shown == [f"Follow-up case {follow_up.reference} opened."]
    assert follow_up.title == "Re-exposure: Exposed bucket"


def test_an_eml_over_the_size_cap_is_refused(client, analyst, case_at, monkeypatch):
    from disclosure.staff.forms import records

    monkeypatch.setattr(records, "EML_MAX_BYTES", 100)
    case = case_at("vendor_notified")
    client.force_login(analyst)
    before = state(case)
    response = post(
        client,
        case,
        "log_communication",
        {"direction": "inbound", "channel": "email", "eml": upload(MULTIPART, "big.eml")},
    )
    assert response.status_code == 400
    assert "The .eml file is larger than 0 MiB" in response.content.decode()
    assert state(case) == before


# --- who sees an upload (issue 16, item 9) --------------------------------------

# Every staff form that takes files, with its file field and visibility field.
SHARED = "shared with the vendor."
UPLOAD_FORMS = [
    ("found", "notify_vendor", "attachments_visibility", f"Default for Notice sent: {SHARED}"),
    ("vendor_notified", "secure", "evidence_visibility", f"Default for Re-test result: {SHARED}"),
    ("secured", "record_deletion", "evidence_visibility", f"Default for Deletion log: {SHARED}"),
    (
        "found",
        "log_communication",
        "attachments_visibility",
        f"Default for Communication attachment: {SHARED}",
    ),
    (
        "found",
        "attach_evidence",
        "visibility",
        "Default: shared with the vendor, except files of kind Other (internal).",
    ),
    ("secured", "open_follow_up", "evidence_visibility", f"Default for Exposure capture: {SHARED}"),
]


@pytest.mark.parametrize("stage,action,field,default", UPLOAD_FORMS)
def test_every_upload_form_says_whether_the_vendor_sees_the_file(
    client, lead, case_at, stage, action, field, default
):
    case = case_at(stage)
    client.force_login(lead)
    html = client.get(action_url(case, action)).content.decode()
    assert "<legend>Does the vendor see the file?</legend>" in html
    assert f'name="{field}" value="shared"' in html and f'name="{field}" value="internal"' in html
    assert default in html


def test_the_new_case_form_says_whether_the_vendor_sees_the_evidence(client, lead):
    client.force_login(lead)
    html = client.get("/cases/new/").content.decode()
    assert "<legend>Does the vendor see the file?</legend>" in html
    assert "Default for Exposure capture: shared with the vendor." in html


@pytest.mark.parametrize(
    "choice,internal", [("internal", True), ("shared", False), ("", True)]
)  # blank: the default of kind Other
def test_attach_evidence_honours_the_choice(client, analyst, case_at, choice, internal):
    case = case_at("vendor_notified")
    client.force_login(analyst)
    data = {"kind": "other", "visibility": choice, "file": upload(b"notes", "notes.txt")}
    assert post(client, case, "attach_evidence", data).status_code == 302
    f = EvidenceFile.objects.get(case=case, original_name="notes.txt")
    assert f.internal is internal


# --- answering and settling disputes (issue 16, item 8) -----------------------


def test_answer_then_settle_a_dispute_from_the_case_page(client, analyst, lead, case_at):
    from disclosure.cases import services

    case = case_at("vendor_notified")
    filed = services.file_dispute(actor=analyst, case=case, subject="Count", firm_position="a",
                                  firm_provenance="b", vendor_position="c",
                                  vendor_provenance="d")  # fmt: skip
    client.force_login(analyst)
    page = client.get(case.get_absolute_url()).content.decode()
    assert action_url(case, "answer_dispute") in page
    assert action_url(case, "settle_dispute") not in page  # leads settle
    form = client.get(action_url(case, "answer_dispute"))
    assert form.status_code == 200 and "Count (filed" in form.content.decode()
    response = post(client, case, "answer_dispute", {"dispute": filed.pk, "answer": "Ours."})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Dispute.objects.get(pk=filed.pk).answer == "Ours."
    # answered: no second answer offered; a lead settles
    assert client.get(action_url(case, "answer_dispute")).status_code == 403
    client.force_login(lead)
    before = state(case)
    bad = post(client, case, "settle_dispute", {"dispute": filed.pk, "outcome": "resolved",
                                                 "reason": "x"})  # fmt: skip
    assert bad.status_code == 400 and state(case) == before
    response = post(client, case, "settle_dispute", {"dispute": filed.pk, "outcome": "rejected",
                                                      "reason": "Our count holds."})  # fmt: skip
    assert response.status_code == 302
    page = client.get(f"/cases/{case.reference}/disputes/").content.decode()
    assert "Settled: rejected" in page and "Our count holds." in page
    assert CaseEvent.objects.filter(case=case, kind="dispute_settled").count() == 1
