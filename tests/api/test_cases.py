"""Cases through the API: list (filters, ordering, pages), open, read,
edit; the access matrix written out by hand; query counts pinned."""

import pytest

from disclosure.cases import services
from disclosure.cases.models import Case
from tests.api.conftest import b64
from tests.factories import VendorFactory, capture, make_case, notify_kwargs

pytestmark = pytest.mark.django_db

ACTORS = ["anonymous", "outsider", "other_vendor_contact", "vendor_contact",
          "analyst", "lead", "legal", "admin_user"]  # fmt: skip


@pytest.fixture
def client_of(request, api, as_):
    def make(actor):
        if actor == "anonymous":
            return api
        return as_(request.getfixturevalue(actor))

    return make


# GET /cases/{ref}/ of a case at 'found' (not yet shown to its vendor) and
# at 'vendor_notified', by actor.
DETAIL = {
    "anonymous": (401, 401),
    "outsider": (404, 404),
    "other_vendor_contact": (404, 404),
    "vendor_contact": (404, 200),
    "analyst": (200, 200),
    "lead": (200, 200),
    "legal": (200, 200),
    "admin_user": (200, 200),
}


@pytest.mark.parametrize("actor", ACTORS)
def test_case_detail_access_matrix(actor, client_of, case_at):
    found, notified = case_at("found"), case_at("vendor_notified")
    client = client_of(actor)
    got = tuple(client.get(f"/api/v1/cases/{c.reference}/").status_code for c in (found, notified))
    assert got == DETAIL[actor]


# Which of (found, notified) the list shows each actor.
LISTED = {
    "anonymous": None,
    "outsider": [],
    "other_vendor_contact": [],
    "vendor_contact": ["notified"],
    "analyst": ["notified", "found"],
    "lead": ["notified", "found"],
    "legal": ["notified", "found"],
    "admin_user": ["notified", "found"],
}


@pytest.mark.parametrize("actor", ACTORS)
def test_case_list_access_matrix(actor, client_of, case_at):
    found = case_at("found")
    notified = case_at("vendor_notified")
    # newest found first: make the notified case the newest
    Case.objects.filter(pk=found.pk).update(found_at=notified.found_at.replace(year=2025))
    r = client_of(actor).get("/api/v1/cases/")
    if LISTED[actor] is None:
        assert r.status_code == 401
        return
    names = {found.reference: "found", notified.reference: "notified"}
    assert [names[c["reference"]] for c in r.json()["results"]] == LISTED[actor]


def test_vendor_contacts_see_no_internal_fields(as_, vendor_contact, analyst, case_at):
    case = case_at("vendor_notified", severity="critical", how_found="Our crawler")
    staff = as_(analyst).get(f"/api/v1/cases/{case.reference}/").json()
    vendor = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/").json()
    assert staff["internal"]["severity"] == "critical"
    assert staff["internal"]["how_found"] == "Our crawler"
    assert vendor["internal"] is None
    assert "Our crawler" not in str(vendor) and "critical" not in str(vendor)
    assert {k: v for k, v in vendor.items() if k != "internal"} == {
        k: v for k, v in staff.items() if k != "internal"
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=found", ["a"]),
        ("stage=secured", ["b"]),
        ("provider=azure", ["b"]),
        ("severity=critical", ["b"]),
        ("q=bluebleed", ["b"]),
        ("category=pii", ["b"]),
        ("legal_hold=no", ["a", "b"]),
        ("ordering=reference", ["a", "b"]),
        ("ordering=-reference", ["b", "a"]),
        ("ordering=stage", ["a", "b"]),
    ],
)
def test_filters_and_ordering(as_, analyst, vendor, query, expected):
    a = make_case("found", actor=analyst, vendor=vendor)
    b = make_case(
        "secured", actor=analyst, vendor=vendor, title="BlueBleed container",
        asset_provider="azure", asset_kind="blob_container", severity="critical",
        data_categories=["pii"],
    )  # fmt: skip
    names = {a.reference: "a", b.reference: "b"}
    r = as_(analyst).get(f"/api/v1/cases/?{query}")
    assert r.status_code == 200, r.json()
    assert sorted(names[c["reference"]] for c in r.json()["results"]) == sorted(expected)
    if query.startswith("ordering"):
        assert [names[c["reference"]] for c in r.json()["results"]] == expected


@pytest.mark.parametrize("query", ["severity=high", "assignee=1", "legal_hold=yes",
                                   "ordering=-severity"])  # fmt: skip
def test_vendor_contacts_may_not_filter_on_internal_fields(as_, vendor_contact, query):
    r = as_(vendor_contact).get(f"/api/v1/cases/?{query}")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_failed"


def test_bad_filter_values_are_400(as_, analyst):
    r = as_(analyst).get("/api/v1/cases/?stage=nowhere")
    assert (r.status_code, r.json()["code"]) == (400, "validation_failed")
    assert "stage" in r.json()["errors"]


def test_pages_are_capped(settings, as_, analyst, vendor):
    settings.API_MAX_PAGE_SIZE = 2
    for _ in range(3):
        make_case("found", actor=analyst, vendor=vendor)
    client = as_(analyst)
    r = client.get("/api/v1/cases/?page_size=1000")
    assert len(r.json()["results"]) == 2 and r.json()["previous"] is None
    r = client.get(r.json()["next"])
    assert len(r.json()["results"]) == 1 and r.json()["next"] is None
    assert r.json()["previous"]
    for bad in ("page=0", "page=x", "page=3", "page=6740457047580512963837034496"):
        r = client.get(f"/api/v1/cases/?page_size=2&{bad}")
        assert (r.status_code, r.json()["code"]) == (404, "not_found"), bad


@pytest.mark.parametrize("actor", ["analyst", "vendor_contact"])
def test_case_list_query_count_does_not_grow_with_rows(
    actor, client_of, case_at, django_assert_max_num_queries
):
    client = client_of(actor)
    client.get("/api/v1/cases/")  # the token's first use is recorded once
    for _ in range(5):
        case_at("vendor_notified")
    # the token with its user and memberships, then the page's rows (with
    # vendor, policy, assignee, attestation and the followed-up case
    # joined): no count
    with django_assert_max_num_queries(2):
        r = client.get("/api/v1/cases/")
    assert len(r.json()["results"]) == 5


def open_body(vendor, changes=None):
    return {**_open_body(vendor), **(changes or {})}


def _open_body(vendor):
    return {
        "vendor": vendor.pk,
        "title": "Open Elasticsearch index",
        "asset_provider": "aws",
        "asset_kind": "elasticsearch_index",
        "asset_identifier": "https://search.example:9200/customers",
        "how_found": "Shodan query",
        "found_at": "2026-01-05T10:00:00Z",
        "data_categories": ["pii", "email_content"],
        "records_by_kind": {"emails": 335000},
        "exposure_evidence": [{"name": "listing.json", "content_base64": b64(b'{"hits": 3}')}],
    }


def test_open_a_case(as_, analyst, vendor):
    r = as_(analyst).post("/api/v1/cases/", open_body(vendor), format="json")
    assert r.status_code == 201, r.json()
    body = r.json()
    case = Case.objects.get(reference=body["reference"])
    assert case.stage == "found" and case.vendor == vendor
    assert body["records_by_kind"] == {"emails": 335000}
    assert body["internal"]["ledger_seq"] == case.ledger_seq == 3
    assert case.evidence.get().original_name == "listing.json"


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"title": ""}, 400, "title"),
        ({"asset_kind": "mainframe"}, 400, "asset_kind"),
        ({"vendor": 999999}, 400, "vendor"),
        ({"exposure_evidence": []}, 400, "exposure_evidence"),
        ({"exposure_evidence": [{"name": "x", "content_base64": "***"}]}, 400,
         "exposure_evidence"),
        ({"exposure_evidence": [{"name": "x", "content_base64": b64(b"x"), "kind": "other"}]},
         400, "exposure_evidence"),
        ({"found_at": "2999-01-01T00:00:00Z"}, 400, "found_at"),
        ({"time_zone": "Mars/Olympus"}, 400, "time_zone"),
    ],
)  # fmt: skip
def test_opening_refuses_bad_input_and_writes_nothing(as_, analyst, vendor, changes, status,
                                                      field):  # fmt: skip
    r = as_(analyst).post("/api/v1/cases/", open_body(vendor, changes), format="json")
    assert r.status_code == status, r.json()
    body = r.json()
    assert body["code"] in ("validation_failed", "evidence_required", "invalid_timestamp")
    assert field in (body.get("field") or "") or field in body.get("errors", {})
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("actor", "status"),
    [("anonymous", 401), ("outsider", 403), ("vendor_contact", 403), ("legal", 403),
     ("analyst", 201), ("lead", 201), ("admin_user", 201)],
)  # fmt: skip
def test_who_may_open_a_case(actor, status, client_of, vendor):
    r = client_of(actor).post("/api/v1/cases/", open_body(vendor), format="json")
    assert r.status_code == status
    assert Case.objects.count() == (1 if status == 201 else 0)


# PATCH /cases/{ref}/ on a notified case, by actor.
PATCH = {
    "anonymous": 401, "outsider": 404, "other_vendor_contact": 404, "vendor_contact": 403,
    "analyst": 200, "lead": 200, "legal": 403, "admin_user": 200,
}  # fmt: skip


@pytest.mark.parametrize("actor", ACTORS)
def test_edit_details_access_matrix(actor, client_of, case_at):
    case = case_at("vendor_notified")
    r = client_of(actor).patch(
        f"/api/v1/cases/{case.reference}/", {"title": "Renamed"}, format="json"
    )
    assert r.status_code == PATCH[actor]
    case.refresh_from_db()
    assert (case.title == "Renamed") == (PATCH[actor] == 200)


def test_edit_details_returns_the_event_and_refuses_bad_values(as_, analyst, case_at):
    case = case_at("found", summary="Keep me", asset_region="westeurope")
    client = as_(analyst)
    r = client.patch(f"/api/v1/cases/{case.reference}/", {"severity": "high"}, format="json")
    assert r.status_code == 200
    (event,) = r.json()["events"]
    assert event["kind"] == "details_updated"
    assert event["payload"]["changes"]["severity"] == {"from": "medium", "to": "high"}
    assert set(event["payload"]["changes"]) == {"severity"}  # nothing else touched
    r = client.patch(f"/api/v1/cases/{case.reference}/", {}, format="json")
    assert r.status_code == 400
    r = client.patch(
        f"/api/v1/cases/{case.reference}/",
        {"data_from": "2026-02-01", "data_to": "2026-01-01"},
        format="json",
    )
    assert (r.status_code, r.json()["field"]) == (400, "data_to")
    case.refresh_from_db()
    assert case.data_from is None and case.severity == "high"


def test_a_closed_case_cannot_be_edited(as_, analyst, case_at):
    case = case_at("closed")
    r = as_(analyst).patch(f"/api/v1/cases/{case.reference}/", {"title": "x"}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "transition_not_allowed")


def test_another_vendors_case_is_404_even_to_patch(as_, analyst, other_vendor_contact):
    other = VendorFactory(name="Northwind")
    case = make_case("vendor_notified", actor=analyst, vendor=other)
    client = as_(other_vendor_contact)
    assert client.get(f"/api/v1/cases/{case.reference}/").status_code == 404
    r = client.patch(f"/api/v1/cases/{case.reference}/", {"title": "x"}, format="json")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert case.reference not in r.json()["message"]


@pytest.mark.parametrize("actor", ["analyst", "vendor_contact"])
def test_a_list_row_is_the_case_as_its_page_shows_it(actor, client_of, analyst, case_at):
    parent = case_at("secured", severity="high", data_categories=["pii"],
                     records_by_kind={"emails": 3})  # fmt: skip
    assigned = case_at("vendor_notified")
    services.update_details(actor=analyst, case=assigned, changes={"assignee": analyst})
    follow = services.open_follow_up(
        actor=analyst, case=parent, found_at=parent.secured_at, how_found="again",
        exposure_evidence=[capture(b"x")],
    )  # fmt: skip
    services.notify_vendor(actor=analyst, case=follow, **notify_kwargs(parent.secured_at))
    client = client_of(actor)
    rows = client.get("/api/v1/cases/").json()["results"]
    assert len(rows) == 3
    for row in rows:
        page = client.get(row["url"]).json()
        assert row == {k: v for k, v in page.items() if k not in ("deadlines", "follow_ups")}
    parent_page = client.get(f"/api/v1/cases/{parent.reference}/").json()
    assert parent_page["follow_ups"] == [follow.reference]
    assert [d["key"] for d in parent_page["deadlines"]] == ["acknowledge", "secure", "publish"]
    assert parent_page["deadlines"][1]["status"] == "met"
    assert parent_page["deadlines"][0]["status"] == "overdue"  # notified ten days ago


def test_bad_data_categories_are_all_named_and_other_carries_its_detail(as_, analyst, case_at):
    """Issue 16, item 15: the 400 named only the first bad value."""
    case = case_at("found")
    client = as_(analyst)
    url = f"/api/v1/cases/{case.reference}/"
    r = client.patch(url, {"data_categories": ["pii", "invoicez", "phones"]}, format="json")
    assert r.status_code == 400
    assert "'invoicez', 'phones'" in r.json()["message"]
    r = client.patch(url, {"data_categories": ["invoices", "other"]}, format="json")
    assert (r.status_code, r.json().get("field")) == (400, "data_categories_other"), r.json()
    r = client.patch(
        url,
        {"data_categories": ["invoices", "other"], "data_categories_other": "Firmware"},
        format="json",
    )
    assert r.status_code == 200, r.json()
    shown = client.get(url).json()
    assert (shown["data_categories"], shown["data_categories_other"]) == (
        ["invoices", "other"],
        "Firmware",
    )
