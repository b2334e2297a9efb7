"""Vendor contacts see through the API what the portal shows them: the
declared case fields, the vendor-visible events with their declared keys,
non-internal communications and evidence, and the firm's people only as
the firm."""

from datetime import timedelta

import pytest

from disclosure.cases import services, vendor_view
from disclosure.cases.visibility import VENDOR_CASE_FIELDS
from disclosure.core.timeutils import now
from tests.factories import inbound_kwargs

pytestmark = pytest.mark.django_db


def test_the_case_has_exactly_the_declared_fields(as_, vendor_contact, case_at):
    case = case_at("secured")
    body = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/").json()
    assert set(body) == {*VENDOR_CASE_FIELDS, "url", "internal", "deadlines", "follow_ups"}
    # the deadlines the portal shows
    portal = vendor_view.due_rows(case, now())
    assert [(d["key"], d["status"]) for d in body["deadlines"]] == [
        (d.key, d.status) for d in portal
    ]
    assert body["internal"] is None


def test_the_events_are_the_portals(as_, analyst, vendor_contact, case_at):
    case = case_at("secured")
    services.log_communication(
        actor=analyst, case=case, direction="internal", channel="other", sender="me",
        recipients=[], body="internal musing", occurred_at=now(),
    )  # fmt: skip
    services.acknowledge(actor=vendor_contact, case=case,
                         occurred_at=now() - timedelta(minutes=1), note="Seen")  # fmt: skip
    rows = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/events/").json()["results"]
    portal = list(vendor_view.events(case))
    assert [e["seq"] for e in rows] == sorted(e.seq for e in portal)
    for row, event in zip(rows, sorted(portal, key=lambda e: e.seq), strict=True):
        assert row["payload"] == vendor_view.vendor_payload(event.kind, event.payload)
        assert row["hash"] == event.hash
    by_kind = {e["kind"]: e for e in rows}
    # the firm's analyst appears as the firm; the vendor's own contact by name
    firm_actor = by_kind["case_opened"]["actor"]
    assert firm_actor == {"id": None, "username": "", "name": "Research Firm",
                          "organization": "Research Firm", "role": None}  # fmt: skip
    assert analyst.username not in str(rows) and analyst.last_name not in str(rows)
    own = by_kind["vendor_acknowledged"]["actor"]
    assert own["id"] == vendor_contact.pk and own["name"] == vendor_contact.display_name()


def test_communications_and_evidence_name_the_firm_not_its_people(
    as_, analyst, vendor_contact, case_at
):
    case = case_at("vendor_notified")
    services.log_communication(actor=vendor_contact, case=case, **inbound_kwargs(now()))
    client = as_(vendor_contact)
    comms = client.get(f"/api/v1/cases/{case.reference}/communications/").json()["results"]
    assert [c["logged_by"]["name"] for c in comms] == [
        "Research Firm",
        vendor_contact.display_name(),
    ]
    assert comms[0]["logged_by"]["id"] is None
    evidence = client.get(f"/api/v1/cases/{case.reference}/evidence/").json()["results"]
    assert evidence[0]["uploaded_by"] == {"id": None, "username": "", "name": "Research Firm"}
    staff = as_(analyst).get(f"/api/v1/cases/{case.reference}/evidence/").json()["results"]
    assert staff[0]["uploaded_by"]["id"] == analyst.pk


@pytest.mark.parametrize(("path", "most"), [("communications/", 6), ("evidence/", 6)])
def test_vendor_list_query_counts(
    as_, analyst, vendor_contact, case_at, path, most, django_assert_max_num_queries
):
    """token and memberships, case, (count), rows, (attachments), the
    vendor's contacts and the firm's name: whatever the rows."""
    case = case_at("vendor_notified")
    for i in range(4):
        services.log_communication(actor=analyst, case=case,
                                   **inbound_kwargs(now(), body=f"reply {i}"))  # fmt: skip
    client = as_(vendor_contact)
    client.get("/api/v1/cases/")
    with django_assert_max_num_queries(most):
        r = client.get(f"/api/v1/cases/{case.reference}/{path}")
    assert r.status_code == 200 and r.json()["results"]
