"""Received mail in triage through the API (``mail/triage/``): the list and
a message (staff only), attach, open a new case, discard (comms.triage, as
the staff UI); the access matrix, errors as 400/409 with a message, the
list's query count."""

import pytest

from disclosure.cases.models import Case
from disclosure.comms.inbound import ingest
from disclosure.comms.models import Communication, InboundMessage
from tests.api.conftest import b64
from tests.comms.test_inbound import mail

pytestmark = pytest.mark.django_db

LIST = "/api/v1/mail/triage/"


def url(row, action: str = "") -> str:
    return f"{LIST}{row.pk}/{action + '/' if action else ''}"


@pytest.fixture
def waiting(db):
    raw = mail(
        subject="Your bucket is open <script>alert(1)</script>",
        sender="Stranger <stranger@elsewhere.example>",
        message_id="<stranger-1@elsewhere.example>",
        body="Look at https://bucket.example/ <b>now</b>",
        attachments=[("listing.txt", b"files\n", "text/plain")],
    )
    row = ingest(raw, source="maildir:/inbox")
    assert row.status == "unmatched"
    return row


def new_case_body(vendor) -> dict:
    return {
        "vendor": vendor.pk,
        "title": "Open bucket reported by mail",
        "asset_provider": "aws",
        "asset_kind": "s3_bucket",
        "asset_identifier": "s3://bucket.example",
        "how_found": "Received by mail",
        "found_at": "2026-01-05T10:00:00Z",
        "data_categories": ["pii"],
        "exposure_evidence": [{"name": "listing.json", "content_base64": b64(b'{"hits": 3}')}],
    }


# --- who ------------------------------------------------------------------------


def test_anonymous_is_401(api, waiting):
    assert api.get(LIST).status_code == 401
    assert api.get(url(waiting)).status_code == 401
    r = api.post(url(waiting, "discard"), {"reason": "spam"}, format="json")
    assert r.status_code == 401


@pytest.mark.parametrize("who", ["vendor_contact", "other_vendor_contact"])
def test_vendor_contacts_are_403_everywhere(as_, waiting, case_at, who, request):
    case = case_at("vendor_notified")
    client = as_(request.getfixturevalue(who))
    for r in [
        client.get(LIST),
        client.get(url(waiting)),
        client.post(url(waiting, "attach"), {"reference": case.reference}, format="json"),
        client.post(url(waiting, "discard"), {"reason": "spam"}, format="json"),
        client.post(url(waiting, "new-case"), {}, format="json"),
    ]:
        assert (r.status_code, r.json()["code"]) == (403, "not_permitted")
    waiting.refresh_from_db()
    assert waiting.status == "unmatched"


def test_legal_reads_but_does_not_triage(as_, legal, waiting, case_at):
    case = case_at("vendor_notified")
    client = as_(legal)
    assert client.get(LIST).status_code == 200
    assert client.get(url(waiting)).status_code == 200
    r = client.post(url(waiting, "attach"), {"reference": case.reference}, format="json")
    assert (r.status_code, r.json()["code"]) == (403, "not_permitted")
    r = client.post(url(waiting, "discard"), {"reason": "spam"}, format="json")
    assert r.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == "unmatched"


# --- list and message ---------------------------------------------------------------


def test_the_list_shows_the_waiting_messages(as_, analyst, waiting, case_at):
    case = case_at("vendor_notified")
    ingest(mail(subject=f"Re: [{case.reference}] hi", message_id="<m2@x>"), source="m")
    body = as_(analyst).get(LIST).json()
    assert body["count"] == 1
    [row] = body["results"]
    assert row["id"] == waiting.pk
    assert row["message_id"] == "<stranger-1@elsewhere.example>"
    assert row["sender"] == "Stranger <stranger@elsewhere.example>"
    assert row["subject"] == "Your bucket is open <script>alert(1)</script>"
    assert (row["status"], row["case"], row["triaged_by"], row["automated"]) == (
        "unmatched", None, None, "",
    )  # fmt: skip
    assert row["source"] == "maildir:/inbox"
    assert row["size"] == waiting.raw_size


def test_a_message_shows_its_headers_text_and_attachments(as_, analyst, waiting):
    r = as_(analyst).get(url(waiting))
    assert r.status_code == 200
    body = r.json()
    assert body["kept"] is True
    assert "From: Stranger <stranger@elsewhere.example>" in body["headers"]
    assert body["body"].strip() == "Look at https://bucket.example/ <b>now</b>"
    assert body["attachments"] == [{"name": "listing.txt", "content_type": "text/plain", "size": 6}]
    assert r["Content-Type"] == "application/json"


def test_an_unknown_message_is_404(as_, analyst):
    for r in [
        as_(analyst).get(f"{LIST}999999/"),
        as_(analyst).post(f"{LIST}999999/discard/", {"reason": "x"}, format="json"),
    ]:
        assert (r.status_code, r.json()["code"]) == (404, "not_found")


def test_the_list_query_count_does_not_grow_with_the_page(
    as_, analyst, django_assert_max_num_queries
):
    for i in range(30):
        ingest(mail(subject=f"stray {i}", message_id=f"<stray-{i}@x>"), source="m")
    client = as_(analyst)
    client.get("/api/v1/me/")  # the token's first use is recorded once
    with django_assert_max_num_queries(3):  # token and user, count, page
        r = client.get(LIST, {"page_size": 1000})
    body = r.json()
    assert (body["count"], len(body["results"])) == (30, 30)
    with django_assert_max_num_queries(3):
        r = client.get(LIST, {"page_size": 5})
    assert len(r.json()["results"]) == 5


def test_the_page_size_is_capped(as_, analyst, settings):
    settings.API_MAX_PAGE_SIZE = 2
    for i in range(3):
        ingest(mail(subject=f"stray {i}", message_id=f"<stray-{i}@x>"), source="m")
    r = as_(analyst).get(LIST, {"page_size": 50})
    assert len(r.json()["results"]) == 2
    assert r.json()["next"] is not None


# --- attach -----------------------------------------------------------------------------


def test_attach_logs_it_on_the_case(as_, analyst, waiting, case_at):
    case = case_at("vendor_notified")
    r = as_(analyst).post(url(waiting, "attach"), {"reference": case.reference}, format="json")
    assert r.status_code == 200, r.json()
    body = r.json()
    assert (body["status"], body["case"]) == ("attached", case.reference)
    assert body["triaged_by"]["username"] == analyst.username
    comm = Communication.objects.get(case=case, direction="inbound")
    assert comm.sender == "Stranger <stranger@elsewhere.example>"
    # Handled once: a second decision is a 409 saying what happened.
    r = as_(analyst).post(url(waiting, "discard"), {"reason": "spam"}, format="json")
    assert (r.status_code, r.json()["code"]) == (409, "already_triaged")
    assert "attached to a case from triage" in r.json()["message"]
    assert r.json()["message"].startswith("This message was handled already")


@pytest.mark.parametrize(
    ("reference", "message"),
    [("DSC-2099-9999", "No case DSC-2099-9999."),
     ("", "reference: This field may not be blank."),
     ("x" * 41, "reference: Ensure this field has no more than 40 characters.")],
)  # fmt: skip
def test_attach_to_a_case_that_is_not_there_is_400(as_, analyst, waiting, reference, message):
    r = as_(analyst).post(url(waiting, "attach"), {"reference": reference}, format="json")
    assert r.status_code == 400
    assert r.json()["message"] == message
    waiting.refresh_from_db()
    assert waiting.status == "unmatched"


def test_attach_finds_the_case_by_its_reference_in_any_case(as_, analyst, waiting, case_at):
    """The reference is looked up among the caller's cases, case-insensitively."""
    case = case_at("found")
    r = as_(analyst).post(url(waiting, "attach"), {"reference": case.reference.lower()},
                          format="json")  # fmt: skip
    assert (r.status_code, r.json()["case"]) == (200, case.reference)


def test_a_refused_message_can_only_be_discarded(as_, analyst, case_at, settings):
    settings.DISCLOSURE_MAIL_MAX_BYTES = 100
    row = ingest(mail(body="x" * 500, message_id="<big@x>"), source="m")
    assert row.status == "refused"
    case = case_at("vendor_notified")
    client = as_(analyst)
    r = client.post(url(row, "attach"), {"reference": case.reference}, format="json")
    assert (r.status_code, r.json()["field"]) == (400, "message")
    assert r.json()["message"].startswith("This message was refused")
    assert client.get(url(row)).json()["kept"] is False
    r = client.post(url(row, "discard"), {"reason": "too big"}, format="json")
    assert (r.status_code, r.json()["status"]) == (200, "discarded")


# --- new case ---------------------------------------------------------------------------


def test_open_a_case_from_it(as_, lead, vendor, waiting):
    r = as_(lead).post(url(waiting, "new-case"), new_case_body(vendor), format="json")
    assert r.status_code == 201, r.json()
    case = Case.objects.get(reference=r.json()["reference"])
    assert (case.title, case.stage, case.vendor) == (
        "Open bucket reported by mail",
        "found",
        vendor,
    )
    waiting.refresh_from_db()
    assert (waiting.status, waiting.case) == ("new_case", case)
    assert Communication.objects.filter(case=case, direction="inbound").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [({"title": ""}, "title"), ({"exposure_evidence": []}, "exposure_evidence"),
     ({"vendor": 999999}, "vendor")],
)  # fmt: skip
def test_a_refused_new_case_is_400_and_writes_nothing(as_, lead, vendor, waiting, change, field):
    cases = Case.objects.count()
    r = as_(lead).post(url(waiting, "new-case"), {**new_case_body(vendor), **change}, format="json")
    assert r.status_code == 400
    assert field in r.json()["errors"]
    assert Case.objects.count() == cases
    waiting.refresh_from_db()
    assert waiting.status == "unmatched"


# --- discard ----------------------------------------------------------------------------


def test_discard_needs_a_reason_and_is_recorded(as_, lead, waiting):
    client = as_(lead)
    r = client.post(url(waiting, "discard"), {"reason": "   "}, format="json")
    assert (r.status_code, r.json()["field"]) == (400, "reason")
    assert r.json()["message"] == "Say why it is discarded."
    r = client.post(url(waiting, "discard"), {}, format="json")
    assert r.status_code == 400
    r = client.post(url(waiting, "discard"), {"reason": "Spam"}, format="json")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["triage_reason"]) == ("discarded", "Spam")
    assert body["triaged_by"]["username"] == lead.username
    row = InboundMessage.objects.get(pk=waiting.pk)
    assert (row.status, row.triage_reason, row.triaged_by) == ("discarded", "Spam", lead)
    assert as_(lead).get(LIST).json()["count"] == 0


def test_a_read_only_token_cannot_triage(as_, analyst, waiting):
    r = as_(analyst, scope="read").post(url(waiting, "discard"), {"reason": "x"}, format="json")
    assert r.status_code == 403
    waiting.refresh_from_db()
    assert waiting.status == "unmatched"
