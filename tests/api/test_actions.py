"""The actions endpoints: what each actor may do on a case now (written out
by hand), one POST per action of the transitions table answering 201 with
the ledger events it appended, 409 with the reason when the case's stage or
state refuses, 403 for a role that may not, 404 for a case not visible."""

from datetime import timedelta

import pytest

from disclosure.cases.models import Case
from disclosure.comms.models import Communication
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from tests.api.conftest import b64

pytestmark = pytest.mark.django_db


def iso(t) -> str:
    return t.isoformat()


# GET /cases/{ref}/actions/ on a case at vendor_notified.
AVAILABLE = {
    "vendor_contact": ["secure", "acknowledge", "log_communication", "attach_evidence",
                       "file_dispute"],
    "analyst": ["secure", "acknowledge", "log_communication", "send_mail", "attach_evidence",
                "file_dispute", "correct_event", "update_details"],
    "lead": ["secure", "publish", "close", "acknowledge", "log_communication", "send_mail",
             "attach_evidence", "file_dispute", "correct_event", "set_legal_hold", "escalate",
             "update_details"],
    "legal": ["set_legal_hold"],
    "admin_user": ["secure", "close", "acknowledge", "log_communication", "send_mail",
                   "attach_evidence", "file_dispute", "correct_event", "set_legal_hold",
                   "escalate", "update_details"],
}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(AVAILABLE))
def test_available_actions_by_actor(request, actor, as_, case_at):
    case = case_at("vendor_notified")
    r = as_(request.getfixturevalue(actor)).get(f"/api/v1/cases/{case.reference}/actions/")
    assert r.status_code == 200
    assert [a["action"] for a in r.json()] == AVAILABLE[actor]
    secure = next((a for a in r.json() if a["action"] == "secure"), None)
    if secure:
        assert secure["url"] == f"http://testserver/api/v1/cases/{case.reference}/actions/secure/"
        assert secure["fields"]["occurred_at"] is True
        assert secure["fields"]["retest_result"] is False
        assert secure["requires"] == "a re-test result or the vendor's confirmation"


@pytest.mark.parametrize(
    ("actor", "status"), [("anonymous", 401), ("outsider", 404), ("other_vendor_contact", 404)]
)
def test_available_actions_hidden_from_others(request, actor, status, api, as_, case_at):
    case = case_at("vendor_notified")
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    assert client.get(f"/api/v1/cases/{case.reference}/actions/").status_code == status


def post(client, case, action, body, fmt="json"):
    return client.post(f"/api/v1/cases/{case.reference}/actions/{action}/", body, format=fmt)


def test_notify_vendor(as_, analyst, case_at):
    case = case_at("found")
    at = now() - timedelta(hours=1)
    r = post(as_(analyst), case, "notify_vendor", {
        "occurred_at": iso(at), "channel": "email", "sender": "research@firm.example",
        "recipients": ["security@contoso.example"], "subject": "Exposed data",
        "body": "Your container is public.",
        "attachments": [{"name": "notice.pdf", "content_base64": b64(b"%PDF-1.4 notice")}],
        "note": "Sent by Jo", "note_shared": False,
    })  # fmt: skip
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["case"]["stage"] == "vendor_notified"
    kinds = [e["kind"] for e in body["events"]]
    assert kinds == ["evidence_attached", "communication_logged", "stage_changed", "note_added"]
    assert [e["seq"] for e in body["events"]] == list(range(4, 8))
    assert body["events"][-2]["hash"] == CaseEvent.objects.get(case=case, seq=6).hash


def test_the_vendor_does_not_see_internal_events_in_the_answer(as_, vendor_contact, case_at):
    case = case_at("vendor_notified")
    r = post(as_(vendor_contact), case, "acknowledge",
             {"occurred_at": iso(now() - timedelta(minutes=5)), "note": "On it"})  # fmt: skip
    assert r.status_code == 201, r.json()
    assert [e["kind"] for e in r.json()["events"]] == ["vendor_acknowledged"]
    assert r.json()["events"][0]["payload"] == {"note": "On it"}
    assert r.json()["case"]["internal"] is None


def test_secure_with_the_vendors_confirmation(as_, analyst, case_at):
    case = case_at("vendor_notified")
    client = as_(analyst)
    r = client.post(f"/api/v1/cases/{case.reference}/communications/", {
        "direction": "inbound", "channel": "email", "sender": "sec@contoso.example",
        "recipients": ["research@firm.example"], "body": "Closed it.",
        "occurred_at": iso(now() - timedelta(hours=2)),
    }, format="json")  # fmt: skip
    assert r.status_code == 201, r.json()
    comm_id = r.json()["created"]["id"]
    outbound = Communication.objects.get(case=case, direction="outbound")
    r = post(client, case, "secure", {"occurred_at": iso(now()), "confirmation": outbound.pk})
    assert (r.status_code, r.json()["field"]) == (400, "confirmation")
    r = post(client, case, "secure", {"occurred_at": iso(now())})
    assert (r.status_code, r.json()["code"]) == (400, "evidence_required")
    r = post(client, case, "secure", {"occurred_at": iso(now()), "confirmation": comm_id})
    assert r.status_code == 201, r.json()
    assert r.json()["events"][0]["payload"]["confirmation_communication_id"] == comm_id


def test_record_deletion_then_countersign(as_, analyst, lead, vendor_contact, case_at):
    case = case_at("secured")
    r = post(as_(analyst), case, "record_deletion", {
        "items": [{"path": "copies/c.tar", "bytes": 2048, "sha256": "b" * 64}],
        "method": "purge", "tool": "shred 9.1", "performed_by": analyst.pk,
        "performed_at": iso(now() - timedelta(minutes=1)), "verification": "Volume checked.",
        "verified_by": lead.pk, "retained_metadata": ["domain"],
        "retention_reason": "To answer questions.",
        "evidence": [{"name": "shred.log", "content_base64": b64(b"shred: done")}],
    })  # fmt: skip
    assert r.status_code == 201, r.json()
    assert r.json()["case"]["stage"] == "data_deleted"
    assert r.json()["created"]["url"].endswith("/attestation/")
    vendor = as_(vendor_contact)
    att = vendor.get(f"/api/v1/cases/{case.reference}/attestation/").json()
    assert att["total_bytes"] == 2048 and att["internal"] is None
    assert att["countersigned_at"] is None
    r = post(vendor, case, "countersign_attestation", {"statement": "Confirmed."})
    assert r.status_code == 201, r.json()
    assert [e["kind"] for e in r.json()["events"]] == ["attestation_countersigned"]
    r = post(vendor, case, "countersign_attestation", {"statement": "Again"})
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")
    assert "countersigned already" in r.json()["message"]


def test_publish_needs_a_leads_override_before_securing(as_, analyst, lead, case_at):
    case = case_at("vendor_notified")
    body = {"occurred_at": iso(now()), "url": "https://firm.example/a", "title": "Advisory"}
    r = post(as_(analyst), case, "publish", body)
    assert (r.status_code, r.json()["code"]) == (403, "not_permitted")  # a lead's override
    r = post(as_(lead), case, "publish", {**body, "override_justification": "too short"})
    assert (r.status_code, r.json()["field"]) == (400, "override_justification")
    why = "The vendor stopped answering for 120 days."
    r = post(as_(lead), case, "publish", {**body, "override_justification": why})
    assert r.status_code == 201, r.json()
    assert [e["kind"] for e in r.json()["events"]] == ["override_granted", "stage_changed"]


def test_close_and_what_a_closed_case_refuses(as_, lead, analyst, case_at):
    case = case_at("found")
    r = post(as_(analyst), case, "close", {"reason": "invalid"})
    assert (r.status_code, r.json()["code"]) == (403, "not_permitted")
    r = post(as_(lead), case, "close", {"reason": "not_published"})
    assert (r.status_code, r.json()["field"]) == (400, "note")
    r = post(as_(lead), case, "close", {"reason": "invalid", "note": "Test bucket"})
    assert r.status_code == 201, r.json()
    assert Case.objects.get(pk=case.pk).stage == "closed"
    r = post(as_(analyst), case, "attach_evidence",
             {"file": _upload(b"late")}, fmt="multipart")  # fmt: skip
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")


def _upload(content: bytes, name: str = "shot.png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_legal_hold_blocks_closing(as_, legal, lead, case_at):
    case = case_at("found")
    r = post(as_(legal), case, "set_legal_hold", {"on": True, "reason": "Litigation"})
    assert r.status_code == 201
    assert r.json()["case"]["internal"]["legal_hold"] is True
    r = post(as_(lead), case, "close", {"reason": "invalid", "note": "x"})
    assert (r.status_code, r.json()["code"]) == (409, "legal_hold")


def test_dispute_escalate_correct_follow_up(as_, lead, vendor_contact, case_at):
    case = case_at("secured")
    client = as_(lead)
    r = client.post(f"/api/v1/cases/{case.reference}/disputes/", {
        "subject": "Entity count", "firm_position": "65,000", "firm_provenance": "Our index",
        "vendor_position": "Far fewer", "vendor_provenance": "Their audit",
    }, format="json")  # fmt: skip
    assert r.status_code == 201 and r.json()["created"]["kind"] == "dispute"
    r = client.post(f"/api/v1/cases/{case.reference}/escalations/", {
        "target": "cert", "organization": "CERT-EU", "reason": "No answer",
        "escalated_at": iso(now()),
    }, format="json")  # fmt: skip
    assert r.status_code == 201, r.json()
    r = post(client, case, "correct_event", {"seq": 1, "reason": "Typo", "statement": "x"})
    assert r.status_code == 201 and r.json()["created"] == {"kind": "correction", "seq": 9}
    r = post(client, case, "correct_event", {"seq": 999, "reason": "Typo", "statement": "x"})
    assert (r.status_code, r.json()["field"]) == (400, "seq")
    r = post(client, case, "open_follow_up", {
        "found_at": iso(now()), "how_found": "Re-scan",
        "exposure_evidence": [{"name": "again.txt", "content_base64": b64(b"open again")}],
    })  # fmt: skip
    assert r.status_code == 201, r.json()
    follow_up = Case.objects.get(reference=r.json()["created"]["reference"])
    assert follow_up.follows_up_id == case.pk
    assert as_(lead).get(f"/api/v1/cases/{follow_up.reference}/").json()["follows_up"] == (
        case.reference
    )
    # the vendor sees the dispute, not the escalation
    vendor = as_(vendor_contact)
    assert len(vendor.get(f"/api/v1/cases/{case.reference}/disputes/").json()["results"]) == 1
    assert vendor.get(f"/api/v1/cases/{case.reference}/escalations/").json()["results"] == []
    assert len(client.get(f"/api/v1/cases/{case.reference}/escalations/").json()["results"]) == 1


# POST set_legal_hold on a notified case, by actor: role first, then the body.
LEGAL_HOLD = {
    "anonymous": 401, "outsider": 404, "other_vendor_contact": 404, "vendor_contact": 403,
    "analyst": 403, "lead": 201, "legal": 201, "admin_user": 201,
}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(LEGAL_HOLD))
def test_set_legal_hold_access_matrix(request, actor, api, as_, case_at):
    case = case_at("vendor_notified")
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    r = post(client, case, "set_legal_hold", {"on": True, "reason": "Litigation"})
    assert r.status_code == LEGAL_HOLD[actor]
    assert Case.objects.get(pk=case.pk).legal_hold == (LEGAL_HOLD[actor] == 201)


def test_bad_bodies_are_400_and_change_nothing(as_, analyst, case_at):
    case = case_at("found")
    client = as_(analyst)
    for action, body in [
        ("notify_vendor", {}),
        ("notify_vendor", {"occurred_at": "yesterday", "channel": "email", "sender": "a",
                           "recipients": ["b"]}),
        ("notify_vendor", {"occurred_at": iso(now()), "channel": "pigeon", "sender": "a",
                           "recipients": ["b"]}),
        ("correct_event", {"seq": 0, "reason": "x"}),
        ("update_details", {"volume_bytes": -1}),
    ]:  # fmt: skip
        r = post(client, case, action, body)
        assert (r.status_code, r.json()["code"]) == (400, "validation_failed"), (action, body)
    assert Case.objects.get(pk=case.pk).ledger_seq == case.ledger_seq


def test_unknown_action_is_404(as_, analyst, case_at):
    case = case_at("found")
    r = post(as_(analyst), case, "delete_everything", {})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    "fields,internal",
    [
        ({"kind": "screenshot"}, False),  # the kind's default: shared
        ({"kind": "other"}, True),  # the kind's default: internal
        ({"kind": "screenshot", "shared": "false"}, True),
        ({"kind": "other", "shared": "true"}, False),
    ],
)
def test_attach_evidence_takes_whether_the_vendor_sees_the_file(
    as_, analyst, case_at, fields, internal
):
    """Issue 16, item 9: the API's upload says who sees the file (``shared``),
    the kind's default when left out."""
    from disclosure.evidence.models import EvidenceFile

    case = case_at("vendor_notified")
    r = post(as_(analyst), case, "attach_evidence",
             {"file": _upload(b"api file", "f.bin"), **fields}, fmt="multipart")  # fmt: skip
    assert r.status_code == 201, r.json()
    assert EvidenceFile.objects.get(case=case, original_name="f.bin").internal is internal


# POST answer_dispute / settle_dispute on a notified case with an open dispute.
ANSWER = {"anonymous": 401, "outsider": 404, "other_vendor_contact": 404, "vendor_contact": 403,
          "legal": 403, "analyst": 201, "lead": 201}  # fmt: skip
SETTLE = {"anonymous": 401, "outsider": 404, "other_vendor_contact": 404, "vendor_contact": 403,
          "legal": 403, "analyst": 403, "lead": 201}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(ANSWER))
def test_who_may_answer_and_settle_a_dispute(request, actor, api, as_, case_at, vendor_contact):
    """Issue 16, item 8: disputes are answered (staff) and settled (a lead)
    over the API, each a ledger event the vendor sees."""
    from disclosure.cases import services

    case = case_at("vendor_notified")
    filed = services.file_dispute(actor=vendor_contact, case=case, subject="Count",
                                  firm_position="65,000", firm_provenance="Our count",
                                  vendor_position="Fewer", vendor_provenance="Ours")  # fmt: skip
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    base = f"/api/v1/cases/{case.reference}/actions/"
    r = client.post(base + "answer_dispute/", {"dispute": filed.pk, "answer": "We counted."},
                    format="json")  # fmt: skip
    assert r.status_code == ANSWER[actor], r.json()
    settle = {"dispute": filed.pk, "outcome": "accepted", "reason": "They were right."}
    r = client.post(base + "settle_dispute/", settle, format="json")
    assert r.status_code == SETTLE[actor], r.json()
    if SETTLE[actor] == 201:
        assert [e["kind"] for e in r.json()["events"]] == ["dispute_settled"]
        shown = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/disputes/").json()
        row = shown["results"][0]
        assert (row["status"], row["answer"], row["settlement_reason"]) == (
            "accepted", "We counted.", "They were right.",
        )  # fmt: skip
        assert row["settled_by"]["id"] is None  # the firm's people only as the firm
        kinds = [e["kind"] for e in as_(vendor_contact).get(
            f"/api/v1/cases/{case.reference}/events/").json()["results"]]  # fmt: skip
        assert kinds[-2:] == ["dispute_answered", "dispute_settled"]


def test_settling_a_settled_dispute_is_409_and_an_unknown_one_400(as_, lead, case_at):
    from disclosure.cases import services

    case = case_at("vendor_notified")
    filed = services.file_dispute(actor=lead, case=case, subject="Count", firm_position="a",
                                  firm_provenance="b", vendor_position="c",
                                  vendor_provenance="d")  # fmt: skip
    client = as_(lead)
    url = f"/api/v1/cases/{case.reference}/actions/settle_dispute/"
    body = {"dispute": filed.pk, "outcome": "superseded", "reason": "A later dispute."}
    assert client.post(url, body, format="json").status_code == 201
    r = client.post(url, body, format="json")
    assert r.status_code == 409  # no open dispute left: the table refuses
    services.file_dispute(actor=lead, case=case, subject="Again", firm_position="a",
                          firm_provenance="b", vendor_position="c",
                          vendor_provenance="d")  # fmt: skip
    r = client.post(url, {**body, "dispute": filed.pk + 1000}, format="json")
    assert (r.status_code, r.json()["field"]) == (400, "dispute")
