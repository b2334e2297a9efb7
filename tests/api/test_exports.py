"""A case's exports through the API: request (202), poll, download (the
file whose SHA-256 the export records); who may; 409 before it is ready."""

import hashlib

import pytest

from disclosure.exports.models import Export
from disclosure.ledger.models import CaseEvent

pytestmark = pytest.mark.django_db

# POST /cases/{ref}/exports/ on a notified case, by actor.
REQUEST = {
    "anonymous": 401, "outsider": 404, "other_vendor_contact": 404, "vendor_contact": 403,
    "analyst": 403, "lead": 202, "legal": 202, "admin_user": 202,
}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(REQUEST))
def test_who_may_request_an_export(request, actor, api, as_, case_at):
    case = case_at("vendor_notified")
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    r = client.post(f"/api/v1/cases/{case.reference}/exports/", {"format": "json"}, format="json")
    assert r.status_code == REQUEST[actor]
    assert Export.objects.count() == (1 if REQUEST[actor] == 202 else 0)


def test_request_poll_download(as_, legal, analyst, case_at, django_capture_on_commit_callbacks):
    case = case_at("secured")
    client = as_(legal)
    url = f"/api/v1/cases/{case.reference}/exports/"
    r = client.post(url, {"format": "json", "variant": "bogus"}, format="json")
    assert (r.status_code, r.json()["code"]) == (400, "validation_failed")
    r = client.post(url, {"format": "json"}, format="json")
    assert r.status_code == 202
    queued = r.json()
    assert queued["status"] == "queued" and queued["download"] is None
    r = client.get(queued["url"] + "download/")
    assert (r.status_code, r.json()["code"]) == (409, "export_not_ready")

    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(url, {"format": "json", "variant": "vendor"}, format="json")
    done = client.get(r.json()["url"]).json()
    assert done["status"] == "done", done
    # issue 17: every URL of a response is absolute
    base = f"http://testserver/api/v1/cases/{case.reference}/exports/{done['id']}/"
    assert (done["url"], done["download"]) == (base, base + "download/")
    download = client.get(done["download"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    assert download["X-Content-Type-Options"] == "nosniff"
    assert hashlib.sha256(download.content).hexdigest() == done["sha256"]
    assert CaseEvent.objects.filter(case=case, kind="export_downloaded").count() == 1
    listed = client.get(url).json()["results"]
    assert [e["id"] for e in listed] == [done["id"], queued["id"]]
    # an analyst may not export: sees none, and no single one
    assert as_(analyst).get(url).json()["results"] == []
    assert as_(analyst).get(done["url"]).status_code == 404


def test_a_read_token_may_poll_but_not_request(as_, legal, case_at):
    case = case_at("found")
    r = as_(legal, scope="read").post(f"/api/v1/cases/{case.reference}/exports/", {},
                                      format="json")  # fmt: skip
    assert (r.status_code, r.json()["code"]) == (403, "token_read_only")


def test_export_list_query_count(as_, legal, case_at, django_assert_max_num_queries):
    case = case_at("found")
    client = as_(legal)
    for _ in range(3):
        client.post(f"/api/v1/cases/{case.reference}/exports/", {"format": "json"}, format="json")
    with django_assert_max_num_queries(4):  # token and memberships, case, count, rows
        r = client.get(f"/api/v1/cases/{case.reference}/exports/")
    assert r.json()["count"] == 3
