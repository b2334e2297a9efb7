"""The case actions of the staff UI (/cases/<ref>/actions/<action>/): who may
reach them, and what every form shows. The stage actions' success and error
paths are in test_actions_stages.py, the records' in test_actions_records.py."""

import re
from datetime import UTC, datetime

import pytest

from disclosure.cases import access
from disclosure.cases.stages import Stage
from tests.cases.helpers import state
from tests.factories import make_case

from .action_helpers import action_url, local

pytestmark = pytest.mark.django_db


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
def test_access_matrix(client, case_at, request, row):
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
def test_a_refused_post_changes_nothing(client, case_at, request, who):
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
def test_unknown_cases_and_actions_are_404(client, case_at, analyst, path):
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


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("who", ["lead", "analyst", "legal"])
def test_every_action_the_case_page_offers_opens_its_form(
    client, case_at, request, lead, who, stage
):
    """No dead buttons: the case page links exactly the actions available to
    the user, and each link opens its form."""
    user = request.getfixturevalue(who)
    case = case_at(stage, lead=lead)
    client.force_login(user)
    page = client.get(case.get_absolute_url()).content.decode()
    links = sorted(set(re.findall(rf'href="(/cases/{case.reference}/actions/[a-z_]+/)"', page)))
    offered = {t.action for t in access.available_actions(user, case)}
    assert {link.split("/")[-2] for link in links} == offered
    for link in links:
        assert client.get(link).status_code == 200, link


# Measured: 4 queries (session, user, memberships, case) for most forms; the
# choices add one each (staff members twice for a deletion, policies, vendors
# and staff for the details).
FORM_QUERIES = {"secure": 5, "record_deletion": 6, "update_details": 7}


@pytest.mark.parametrize("action, stage, fields", FORMS)
def test_form_queries_are_pinned(
    client, case_at, lead, admin_user, action, stage, fields, django_assert_max_num_queries
):
    case = case_at(stage, lead=lead)
    client.force_login(admin_user)
    with django_assert_max_num_queries(FORM_QUERIES.get(action, 4)):
        assert client.get(action_url(case, action)).status_code == 200
