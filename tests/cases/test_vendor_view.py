"""The one vendor projection (cases.vendor_view) as the portal, the API and
the vendor variant of the export show it: what a vendor sees of a case that
belonged to another vendor (issue 15, finding 9), of follow-up references
(finding 10), and the three interfaces compared on every demo event
(finding 11). Expected values are written out here, not read from the
declaration under test."""

import itertools
import json
from datetime import timedelta

import pytest
from django.test import Client
from rest_framework.test import APIClient

from disclosure.accounts.models import Membership, Organization, Role
from disclosure.cases import selectors, services, vendor_view
from disclosure.cases.access import visible_cases
from disclosure.cases.models import Case
from disclosure.core.timeutils import iso_utc, now
from disclosure.demo.seed import seed_demo
from disclosure.exports.bundle import build_bundle
from disclosure.tokens import services as tokens
from tests.factories import advance, capture, make_case

pytestmark = pytest.mark.django_db

_TOKEN_NUMBERS = itertools.count(1)
FABRIKAM_TITLE = "FABRIKAM-ONLY title of the exposed share"
FABRIKAM_SUMMARY = "FABRIKAM-ONLY summary of what was exposed"


def api_client(user) -> APIClient:
    name = f"vendor view test {next(_TOKEN_NUMBERS)}"
    issued = tokens.create_token(user=user, name=name, scope="read", days=30)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.secret}")
    return client


def api_events(user, reference: str) -> list[dict]:
    client = api_client(user)
    url, rows = f"/api/v1/cases/{reference}/events/?page_size=100", []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.content
        rows += r.json()["results"]
        url = r.json()["next"]
    return rows


def portal_page(user, reference: str) -> str:
    client = Client()
    client.force_login(user)
    r = client.get(f"/portal/cases/{reference}/")
    assert r.status_code == 200
    return r.content.decode()


def vendor_bundle(case: Case) -> dict:
    case.refresh_from_db()
    return build_bundle(
        case=case, variant="vendor", communications="full", generated_at=now(), checkpoint=None
    )


def portal_rows(case: Case) -> list[vendor_view.VendorEvent]:
    rows, page = [], 1
    while True:
        current, batch = vendor_view.timeline(case, page=page)
        rows += batch
        if not current.has_next():
            return sorted(rows, key=lambda e: e.seq)
        page += 1


# --- finding 9: a case that changed vendor --------------------------------------


@pytest.fixture
def reassigned(analyst, vendor, other_vendor):
    """Opened for Fabrikam (``other_vendor``) with Fabrikam's title and
    summary, then given to Contoso (``vendor``) with new ones, then notified."""
    case = make_case(
        "found", actor=analyst, vendor=other_vendor, title=FABRIKAM_TITLE, summary=FABRIKAM_SUMMARY
    )
    services.update_details(
        actor=analyst,
        case=case,
        changes={"vendor": vendor, "title": "Contoso's share", "summary": "Contoso data"},
    )
    case.refresh_from_db()
    change_seq = case.ledger_seq
    case = advance(case, "vendor_notified", actor=analyst, at=now() - timedelta(hours=2))
    case.refresh_from_db()
    return case, change_seq


def test_the_new_vendor_sees_nothing_recorded_under_the_old_one(
    reassigned, vendor_contact, analyst, other_vendor_contact
):
    case, change_seq = reassigned
    # Seq 1-3 (opened, internal details, evidence) were Fabrikam's, seq 4 the change.
    assert change_seq == 4
    secrets = ("Fabrikam", FABRIKAM_TITLE, FABRIKAM_SUMMARY)

    events = api_events(vendor_contact, case.reference)
    assert [e["seq"] for e in events] == [5, 6]
    assert [e["kind"] for e in events] == ["communication_logged", "stage_changed"]
    for secret in secrets:
        assert secret not in json.dumps(events)

    assert [e.seq for e in selectors.events_for(vendor_contact, case)] == [5, 6]
    assert [e.seq for e in portal_rows(case)] == [6, 5][::-1]
    page = portal_page(vendor_contact, case.reference)
    for secret in secrets:
        assert secret not in page

    bundle = vendor_bundle(case)
    assert [e.get("withheld", False) for e in bundle["events"]] == [
        True, True, True, True, False, False,
    ]  # fmt: skip
    for secret in secrets:
        assert secret not in json.dumps(bundle)
    # The staff still see everything; the old vendor and anonymous nothing.
    assert len(api_events(analyst, case.reference)) == 6
    assert (
        api_client(other_vendor_contact).get(f"/api/v1/cases/{case.reference}/events/").status_code
        == 404
    )
    assert APIClient().get(f"/api/v1/cases/{case.reference}/events/").status_code == 401


def test_a_case_that_never_changed_vendor_shows_its_opening(vendor_contact, analyst, vendor):
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    kinds = [e["kind"] for e in api_events(vendor_contact, case.reference)]
    assert kinds == ["case_opened", "evidence_attached", "communication_logged", "stage_changed"]
    assert [e.kind for e in portal_rows(case)] == kinds
    assert [e.get("kind") for e in vendor_bundle(case)["events"]] == [
        "case_opened", None, "evidence_attached", "communication_logged", "stage_changed",
    ]  # fmt: skip


# --- finding 10: follow-up references --------------------------------------------


@pytest.fixture
def parent_with_follow_up(analyst, vendor):
    """A secured Contoso case whose re-exposure was opened as a follow-up
    that has not been notified yet."""
    case = make_case("secured", actor=analyst, vendor=vendor)
    follow_up = services.open_follow_up(
        actor=analyst,
        case=case,
        found_at=now() - timedelta(hours=1),
        how_found="Re-scan",
        exposure_evidence=[capture()],
    )
    case.refresh_from_db()
    return case, follow_up


def test_an_unnotified_follow_up_is_not_named_to_the_vendor(
    parent_with_follow_up, vendor_contact, analyst
):
    case, follow_up = parent_with_follow_up
    ref = follow_up.reference
    events = api_events(vendor_contact, case.reference)
    assert "follow_up_opened" not in [e["kind"] for e in events]
    assert ref not in json.dumps(events)
    assert ref not in json.dumps([e.payload for e in selectors.events_for(vendor_contact, case)])
    assert ref not in str([(e.payload, e.summary) for e in portal_rows(case)])
    assert ref not in portal_page(vendor_contact, case.reference)
    bundle = vendor_bundle(case)
    assert bundle["events"][-1] == {
        "seq": case.ledger_seq,
        "prev_hash": bundle["events"][-2]["hash"],
        "hash": case.ledger_head,
        "withheld": True,
    }
    assert ref not in json.dumps(bundle)
    # Once it is notified, the vendor sees the link in all three.
    advance(follow_up, "vendor_notified", actor=analyst, at=now() - timedelta(minutes=30))
    assert [e["payload"] for e in api_events(vendor_contact, case.reference)][-1] == {
        "follow_up": ref
    }
    assert portal_rows(case)[-1].payload == {"follow_up": ref}
    assert vendor_bundle(case)["events"][-1]["payload"] == {"follow_up": ref}


def test_a_follow_up_given_to_another_vendor_is_not_named_either_way(
    parent_with_follow_up, vendor_contact, other_vendor_contact, other_vendor, analyst
):
    case, follow_up = parent_with_follow_up
    services.update_details(actor=analyst, case=follow_up, changes={"vendor": other_vendor})
    at = now() - timedelta(minutes=9)
    follow_up = advance(follow_up, "vendor_notified", actor=analyst, at=at)
    follow_up.refresh_from_db()
    # Contoso is not told of Fabrikam's case...
    assert follow_up.reference not in json.dumps(api_events(vendor_contact, case.reference))
    assert follow_up.reference not in json.dumps(vendor_bundle(case))
    # ...nor Fabrikam of Contoso's: not in the case, not in the events.
    client = api_client(other_vendor_contact)
    assert client.get(f"/api/v1/cases/{follow_up.reference}/").json()["follows_up"] is None
    listed = client.get("/api/v1/cases/").json()["results"]
    assert [(c["reference"], c["follows_up"]) for c in listed] == [(follow_up.reference, None)]
    staff = api_client(analyst).get(f"/api/v1/cases/{follow_up.reference}/").json()
    assert staff["follows_up"] == case.reference
    assert case.reference not in json.dumps(api_events(other_vendor_contact, follow_up.reference))
    bundle = vendor_bundle(follow_up)
    assert bundle["case"]["follows_up"] is None
    assert case.reference not in json.dumps(bundle)
    assert case.reference not in portal_page(other_vendor_contact, follow_up.reference)


# --- finding 11: one projection, three interfaces --------------------------------


def _staff_names() -> set[str]:
    names = set()
    for m in Membership.objects.filter(organization__kind=Organization.Kind.FIRM):
        names |= {m.user.username, m.user.get_full_name()}
    return names


def test_portal_api_and_vendor_export_project_every_demo_event_alike():
    seed_demo()
    staff_names = _staff_names()
    compared = withheld_seen = 0
    for case in Case.objects.order_by("pk"):
        if not vendor_view.vendor_sees(case):
            continue
        contact = (
            Membership.objects.filter(organization=case.vendor, role=Role.VENDOR_CONTACT)
            .first()
            .user
        )
        assert case in visible_cases(contact)
        api = {e["seq"]: e for e in api_events(contact, case.reference)}
        portal = {e.seq: e for e in portal_rows(case)}
        export = vendor_bundle(case)["events"]
        assert len(export) == case.ledger_seq
        shown = {e["seq"]: e for e in export if not e.get("withheld")}
        withheld_seen += len(export) - len(shown)
        assert sorted(api) == sorted(portal) == sorted(shown), case.reference
        for seq, a in api.items():
            p, x = portal[seq], shown[seq]
            where = f"{case.reference} #{seq}"
            as_portal = {
                "kind": p.kind,
                "occurred_at": iso_utc(p.occurred_at),
                "recorded_at": iso_utc(p.recorded_at),
                "actor": p.actor,
                "payload": p.payload,
                "hash": p.hash,
            }
            as_api = {
                "kind": a["kind"],
                "occurred_at": iso_utc(_parse(a["occurred_at"])),
                "recorded_at": iso_utc(_parse(a["recorded_at"])),
                "actor": a["actor"],
                "payload": a["payload"],
                "hash": a["hash"],
            }
            as_export = {k: x[k] for k in as_api}
            assert as_portal == as_api == as_export, where
            # the firm's people are the firm, never a name, a username or a role
            assert a["actor"]["role"] in (None, "vendor_contact", "system"), where
            if a["actor"]["role"] is None:
                assert a["actor"] == {
                    "id": None, "username": "", "name": "Disclosure Research",
                    "organization": "Disclosure Research", "role": None,
                }, where  # fmt: skip
            compared += 1
        for text in (json.dumps(list(api.values())), json.dumps(export)):
            for name in staff_names:
                assert f'"{name}"' not in text, (case.reference, name)
    assert compared > 40 and withheld_seen > 10


def _parse(text: str):
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_records_logged_under_the_old_vendor_are_not_the_new_ones(
    analyst, vendor, other_vendor, vendor_contact
):
    """The message to Fabrikam and the capture attached while the case was
    Fabrikam's are listed nowhere for Contoso, nor downloadable; what was
    logged after the change is."""
    case = make_case("found", actor=analyst, vendor=other_vendor)
    services.log_communication(
        actor=analyst, case=case, direction="outbound", channel="email",
        sender="research@firm.example", recipients=["security@fabrikam.example"],
        subject="FABRIKAM-ONLY heads-up", body="For Fabrikam's eyes.",
        occurred_at=now() - timedelta(days=5),
    )  # fmt: skip
    services.update_details(actor=analyst, case=case, changes={"vendor": vendor})
    case = advance(case, "vendor_notified", actor=analyst, at=now() - timedelta(hours=2))
    case.refresh_from_db()
    old_capture = case.evidence.get(original_name="capture.txt")

    client = api_client(vendor_contact)
    comms = client.get(f"/api/v1/cases/{case.reference}/communications/").json()["results"]
    assert [c["subject"] for c in comms] == ["Exposed data"]
    files = client.get(f"/api/v1/cases/{case.reference}/evidence/").json()["results"]
    assert files == []
    r = client.get(f"/api/v1/cases/{case.reference}/evidence/{old_capture.pk}/download/")
    assert r.status_code == 404
    assert [c.subject for c in vendor_view.communications(case)] == ["Exposed data"]
    assert list(vendor_view.evidence(case)) == []
    assert "FABRIKAM-ONLY" not in portal_page(vendor_contact, case.reference)
    records = vendor_bundle(case)["records"]
    assert [c["subject"] for c in records["communications"]] == ["Exposed data"]
    assert records["evidence"] == []
    # Staff see both.
    staff = api_client(analyst)
    comms = staff.get(f"/api/v1/cases/{case.reference}/communications/").json()["results"]
    assert len(comms) == 2


def test_the_portal_timeline_summarises_a_dispute_answered_and_settled(
    vendor_contact, analyst, lead, vendor
):
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    filed = services.file_dispute(actor=vendor_contact, case=case, subject="Count",
                                  firm_position="65,000", firm_provenance="Our count",
                                  vendor_position="Fewer", vendor_provenance="Ours")  # fmt: skip
    services.answer_dispute(actor=analyst, case=case, dispute=filed, answer="Duplicates removed")
    services.settle_dispute(actor=lead, case=case, dispute=filed, outcome="accepted",
                            reason="Their count was right")  # fmt: skip
    lines = {e.kind: e.summary for e in portal_rows(case)}
    assert lines["dispute_answered"] == f"Firm answered dispute #{filed.pk}"
    assert lines["dispute_settled"] == (
        f"Dispute #{filed.pk} settled: accepted — Their count was right"
    )
    html = portal_page(vendor_contact, case.reference)
    assert f"Dispute #{filed.pk} settled: accepted — Their count was right" in html
