"""A case's records through the API: events (cursor pages, what vendors
see), communications, evidence (upload returning the SHA-256, download),
disputes, escalations, attestation; organizations; query counts pinned on
every list."""

import base64
import hashlib
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from disclosure.cases import services
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from tests.factories import VendorFactory, inbound_kwargs, make_case

pytestmark = pytest.mark.django_db


def test_events_in_seq_order_by_cursor(as_, analyst, case_at):
    case = case_at("secured")  # 7 events
    client = as_(analyst)
    r = client.get(f"/api/v1/cases/{case.reference}/events/?page_size=3")
    seqs = [e["seq"] for e in r.json()["results"]]
    nxt = r.json()["next"]
    while nxt:
        r = client.get(nxt)
        seqs += [e["seq"] for e in r.json()["results"]]
        nxt = r.json()["next"]
    assert seqs == list(range(1, case.ledger_seq + 1))


def _cursor_past(seq: int) -> str:
    """A cursor to the page after ``seq`` (DRF's encoding: base64 of p=<seq>)."""
    return base64.urlsafe_b64encode(f"p={seq}".encode()).decode()


@pytest.mark.parametrize(
    ("actor", "stage", "expected"),
    [
        # the case's vendor sees its events from notification on, others never
        ("analyst", "found", (200, 3)),
        ("vendor_contact", "found", (404, None)),
        ("vendor_contact", "vendor_notified", (200, 3)),
        ("other_vendor_contact", "vendor_notified", (404, None)),
    ],
)
def test_events_of_a_case_the_caller_may_not_see_are_404_also_past_the_end(
    request, as_, analyst, case_at, actor, stage, expected
):
    case = case_at(stage)
    client = as_(request.getfixturevalue(actor))
    r = client.get(f"/api/v1/cases/{case.reference}/events/?page_size=3")
    status, rows = expected
    assert r.status_code == status
    if rows is not None:
        assert len(r.json()["results"]) == rows
    else:
        assert r.json()["code"] == "not_found"
    # a page past the last event: empty for whom may see the case, else 404
    past = client.get(f"/api/v1/cases/{case.reference}/events/?cursor={_cursor_past(10_000)}")
    assert past.status_code == status
    if status == 200:
        assert past.json()["results"] == [] and past.json()["next"] is None
    missing = client.get("/api/v1/cases/DSC-2026-9999/events/")
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")


def test_vendors_see_only_vendor_events_and_keys(as_, analyst, vendor_contact, case_at):
    case = case_at("vendor_notified")
    services.log_communication(
        actor=analyst, case=case, direction="internal", channel="other", sender="me",
        recipients=[], body="Vendor seems slow", occurred_at=now(),
    )  # fmt: skip
    staff = as_(analyst).get(f"/api/v1/cases/{case.reference}/events/").json()["results"]
    vendor = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/events/").json()["results"]
    assert [e["kind"] for e in staff] == [
        "case_opened", "internal_details", "evidence_attached", "communication_logged",
        "stage_changed", "communication_logged",
    ]  # fmt: skip
    assert [e["kind"] for e in vendor] == [
        "case_opened", "evidence_attached", "communication_logged", "stage_changed",
    ]  # fmt: skip
    assert "Vendor seems slow" not in str(vendor) and "how_found" not in str(vendor)
    assert all(not e["internal"] for e in vendor)
    # the hash vouches for the full event: vendors get it as recorded
    assert vendor[0]["hash"] == staff[0]["hash"]


def test_communications_hide_internal_notes_from_vendors(as_, analyst, vendor_contact, case_at):
    case = case_at("vendor_notified")
    services.log_communication(actor=analyst, case=case, **inbound_kwargs(now()))
    services.log_communication(
        actor=analyst, case=case, direction="internal", channel="other", sender="me",
        recipients=[], body="note", occurred_at=now(),
    )  # fmt: skip
    url = f"/api/v1/cases/{case.reference}/communications/"
    staff = as_(analyst).get(url).json()["results"]
    vendor = as_(vendor_contact).get(url).json()["results"]
    assert [c["direction"] for c in staff] == ["outbound", "inbound", "internal"]
    assert [c["direction"] for c in vendor] == ["outbound", "inbound"]


def test_evidence_upload_returns_the_sha256_and_downloads_with_nosniff(
    as_, vendor_contact, analyst, case_at
):
    case = case_at("vendor_notified")
    content = b"<html><script>alert(1)</script></html>"
    r = as_(vendor_contact).post(
        f"/api/v1/cases/{case.reference}/evidence/",
        {"file": SimpleUploadedFile("retest.html", content), "kind": "vendor_confirmation",
         "description": "Our re-test"},
        format="multipart",
    )  # fmt: skip
    assert r.status_code == 201, r.json()
    created = r.json()["created"]
    assert created["sha256"] == hashlib.sha256(content).hexdigest()
    assert created["size"] == len(content)
    assert [e["kind"] for e in r.json()["events"]] == ["evidence_attached"]
    # issue 17: absolute, here and in the list
    expected = f"http://testserver/api/v1/cases/{case.reference}/evidence/{created['id']}/download/"
    assert created["download"] == expected
    listed = as_(analyst).get(f"/api/v1/cases/{case.reference}/evidence/").json()["results"]
    assert [f["download"] for f in listed if f["id"] == created["id"]] == [expected]
    download = as_(analyst).get(created["download"])
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == content
    assert download["X-Content-Type-Options"] == "nosniff"
    assert download["Content-Disposition"].startswith("attachment")
    # the same file again is a 409 naming the duplicate
    r = as_(analyst).post(
        f"/api/v1/cases/{case.reference}/evidence/",
        {"file": SimpleUploadedFile("again.html", content)},
        format="multipart",
    )
    assert (r.status_code, r.json()["code"]) == (409, "duplicate_evidence")


def test_evidence_upload_needs_a_file_and_multipart(as_, analyst, case_at):
    case = case_at("found")
    client = as_(analyst)
    r = client.post(f"/api/v1/cases/{case.reference}/evidence/", {}, format="multipart")
    assert (r.status_code, r.json()["code"]) == (400, "validation_failed")
    r = client.post(f"/api/v1/cases/{case.reference}/evidence/", {"file": "x"}, format="json")
    assert (r.status_code, r.json()["code"]) == (415, "unsupported_media_type")


def test_another_cases_or_vendors_file_is_404(as_, analyst, other_vendor_contact, case_at):
    case, other = case_at("vendor_notified"), case_at("found")
    theirs = EvidenceFile.objects.get(case=other)
    r = as_(analyst).get(f"/api/v1/cases/{case.reference}/evidence/{theirs.pk}/download/")
    assert r.status_code == 404
    mine = EvidenceFile.objects.get(case=case)
    url = f"/api/v1/cases/{case.reference}/evidence/{mine.pk}/download/"
    assert as_(other_vendor_contact).get(url).status_code == 404


def test_attestation_is_404_until_recorded(as_, analyst, case_at):
    case = case_at("secured")
    r = as_(analyst).get(f"/api/v1/cases/{case.reference}/attestation/")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_the_vendor_sees_the_attestation_without_the_firms_details(
    as_, analyst, vendor_contact, case_at
):
    case = case_at("data_deleted")
    staff = as_(analyst).get(f"/api/v1/cases/{case.reference}/attestation/").json()
    vendor = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/attestation/").json()
    assert staff["internal"]["tool"] == "shred 9.1"
    assert vendor["internal"] is None and "shred" not in str(vendor)
    assert vendor["content_sha256"] == staff["content_sha256"]


# GET /organizations/ by actor.
ORGANIZATIONS = {"anonymous": 401, "outsider": 403, "vendor_contact": 403, "analyst": 200,
                 "legal": 200, "admin_user": 200}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(ORGANIZATIONS))
def test_organizations_are_for_staff(request, actor, api, as_, vendor, other_vendor):
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    r = client.get("/api/v1/organizations/?kind=vendor")
    assert r.status_code == ORGANIZATIONS[actor]
    if r.status_code == 200:
        assert [o["name"] for o in r.json()["results"]] == ["Contoso", "Fabrikam"]
        one = client.get(f"/api/v1/organizations/{vendor.pk}/")
        assert one.json() == {"id": vendor.pk, "name": "Contoso", "kind": "vendor",
                              "domain": vendor.domain, "domains": [], "security_contacts": [],
                              "time_zone": "UTC", "mail_includes_content": False}  # fmt: skip


# Every list endpoint, with the most queries it may take whatever its rows:
# the token with its user's memberships, the case (where under a case), rows
# and their prefetches.
LISTS = [
    ("events/", 2),  # the page joins the case and its visibility: no case query
    ("communications/", 4),  # + attachments prefetch
    ("evidence/", 4),  # + count
    ("disputes/", 4),  # + count
    ("escalations/", 4),  # + count
    ("actions/", 2),
]


@pytest.mark.parametrize(("path", "most"), LISTS)
def test_list_query_counts(as_, lead, case_at, path, most, django_assert_max_num_queries):
    case = case_at("secured")
    client = as_(lead)
    client.get("/api/v1/cases/")  # the token's first use is recorded once
    for i in range(3):
        services.log_communication(
            actor=lead, case=case, **inbound_kwargs(now() - timedelta(minutes=i),
                                                     body=f"reply {i}")
        )  # fmt: skip
        services.file_dispute(actor=lead, case=case, subject=f"s{i}", firm_position="a",
                              firm_provenance="b", vendor_position="c",
                              vendor_provenance="d")  # fmt: skip
        services.escalate(actor=lead, case=case, target="cert", organization=f"CERT {i}",
                          reason="r", escalated_at=now())  # fmt: skip
    with django_assert_max_num_queries(most):
        r = client.get(f"/api/v1/cases/{case.reference}/{path}")
    assert r.status_code == 200


def test_organization_list_query_count(as_, analyst, django_assert_max_num_queries):
    for i in range(5):
        VendorFactory(name=f"Vendor {i}")
    client = as_(analyst)
    client.get("/api/v1/organizations/")
    with django_assert_max_num_queries(3):  # token and memberships, count, rows
        r = client.get("/api/v1/organizations/")
    assert r.json()["count"] == 6


def test_other_vendors_records_are_404(as_, analyst, other_vendor_contact):
    case = make_case("vendor_notified", actor=analyst, vendor=VendorFactory(name="Northwind"))
    client = as_(other_vendor_contact)
    for path in ["events/", "communications/", "evidence/", "disputes/", "escalations/",
                 "attestation/", "actions/"]:  # fmt: skip
        r = client.get(f"/api/v1/cases/{case.reference}/{path}")
        assert (r.status_code, r.json()["code"]) == (404, "not_found"), path


def test_staff_recompute_every_event_hash_from_the_api_alone(as_, analyst, case_at):
    """Issue 16: every hashed field is in the API's event (``v`` and ``state``
    were missing), times as hashed: the hash is recomputed from the response
    with nothing but hashlib and json."""
    import json

    case = case_at("secured")
    r = as_(analyst).get(f"/api/v1/cases/{case.reference}/events/?page_size=100")
    events = r.json()["results"]
    assert len(events) == case.ledger_seq
    prev = "0" * 64
    for e in events:
        assert e["v"] == 1
        assert len(e["state"]) == 64
        body = {k: e[k] for k in e if k != "hash"}
        body["case"] = case.reference
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert e["prev_hash"] == prev
        assert hashlib.sha256(prev.encode() + text.encode()).hexdigest() == e["hash"]
        prev = e["hash"]
