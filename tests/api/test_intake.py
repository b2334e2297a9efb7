"""POST /api/v1/intake/findings/: a scanner's finding opens a case at
found (201); the same (source, external id) again returns it (200)."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from disclosure.cases.models import Case
from disclosure.intake.models import Finding
from disclosure.tokens import services as tokens
from tests.api.conftest import b64
from tests.factories import FirmFactory, MembershipFactory, VendorFactory

pytestmark = pytest.mark.django_db


def body(org, **changes):
    return {
        "source": "bucket-scanner",
        "external_id": "F-77",
        "vendor": org.pk,
        "title": "Open S3 bucket",
        "asset_provider": "aws",
        "asset_kind": "s3_bucket",
        "asset_identifier": "s3://contoso-backups",
        "data_categories": ["pii"],
        "volume_bytes": 2_400_000_000_000,
        "records_by_kind": {"emails": 335000},
        "evidence": [{"name": "listing.xml", "content_base64": b64(b"<ListBucketResult/>")}],
        **changes,
    }


def test_a_finding_opens_a_case_and_a_repeat_returns_it(as_, analyst, vendor):
    client = as_(analyst)
    r = client.post("/api/v1/intake/findings/", body(vendor), format="json")
    assert r.status_code == 201, r.json()
    first = r.json()
    assert first["created"] is True and first["case"]["stage"] == "found"
    assert first["finding"]["case"] == first["case"]["reference"]
    assert first["case"]["volume_bytes"] == 2_400_000_000_000
    extra = {"name": "shot.png", "content_base64": b64(b"\x89PNG..."), "kind": "screenshot"}
    again = body(vendor, evidence=[*body(vendor)["evidence"], extra])
    r = client.post("/api/v1/intake/findings/", again, format="json")
    assert r.status_code == 200, r.json()
    assert r.json()["created"] is False
    assert r.json()["case"]["reference"] == first["case"]["reference"]
    assert [f["name"] for f in r.json()["attached"]] == ["shot.png"]
    assert r.json()["finding"]["submissions"] == 2
    assert Case.objects.count() == 1
    listed = client.get("/api/v1/intake/findings/").json()["results"]
    assert [f["external_id"] for f in listed] == ["F-77"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"source": ""}, "source"),
        ({"vendor": 10**6}, "vendor"),
        ({"evidence": []}, "evidence"),
        ({"evidence": [{"name": "x", "content_base64": b64(b"x"), "kind": "notice"}]},
         "evidence"),
        ({"found_at": "2999-01-01T00:00:00Z"}, "found_at"),
        ({"records_by_kind": {"emails": -1}}, "records_by_kind"),
    ],
)  # fmt: skip
def test_bad_findings_are_400_and_open_nothing(as_, analyst, vendor, changes, field):
    r = as_(analyst).post("/api/v1/intake/findings/", body(vendor, **changes), format="json")
    assert r.status_code == 400, r.json()
    assert r.json().get("field") == field or field in r.json().get("errors", {})
    assert not Case.objects.exists() and not Finding.objects.exists()


# (POST, GET) /intake/findings/ by actor: legal reads but opens no case.
INTAKE = {"anonymous": (401, 401), "outsider": (403, 403), "vendor_contact": (403, 403),
          "other_vendor_contact": (403, 403), "legal": (403, 200), "analyst": (201, 200),
          "lead": (201, 200), "admin_user": (201, 200)}  # fmt: skip


@pytest.mark.parametrize("actor", sorted(INTAKE))
def test_intake_access_matrix(request, actor, api, as_, vendor):
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    r = client.post("/api/v1/intake/findings/", body(vendor), format="json")
    listing = client.get("/api/v1/intake/findings/").status_code
    assert (r.status_code, listing) == INTAKE[actor]
    assert Case.objects.count() == (1 if r.status_code == 201 else 0)


def test_a_read_token_cannot_submit(as_, analyst, vendor):
    r = as_(analyst, scope="read").post("/api/v1/intake/findings/", body(vendor), format="json")
    assert (r.status_code, r.json()["code"]) == (403, "token_read_only")


def test_finding_list_query_count(as_, analyst, vendor, django_assert_max_num_queries):
    client = as_(analyst)
    for i in range(4):
        client.post("/api/v1/intake/findings/", body(vendor, external_id=f"F-{i}"), format="json")
    with django_assert_max_num_queries(3):  # token and memberships, count, rows with cases
        r = client.get("/api/v1/intake/findings/")
    assert r.json()["count"] == 4


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_identical_posts_at_once_give_one_case():
    vendor = VendorFactory(name="Contoso")
    scanner = MembershipFactory(organization=FirmFactory(), role="analyst").user
    secret = tokens.create_token(user=scanner, name="scanner", scope="read_write").secret
    barrier = threading.Barrier(2)
    statuses, errors = [], []

    def post():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        try:
            barrier.wait(timeout=10)
            r = client.post("/api/v1/intake/findings/", body(vendor), format="json")
            statuses.append((r.status_code, r.json()["case"]["reference"]))
        except Exception as e:  # reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(s for s, _ in statuses) == [200, 201]
    assert len({ref for _, ref in statuses}) == 1
    assert Case.objects.count() == 1 and Finding.objects.get().submissions == 2
