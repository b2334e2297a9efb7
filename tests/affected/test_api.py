"""The affected-entity API: access matrix, import, claims by both parties."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from disclosure.affected.models import AffectedImport, Dispute
from disclosure.cases.stages import Stage
from tests.factories import make_case

pytestmark = pytest.mark.django_db

CSV = b"email,country\na@contoso.com,US\nb@contoso.de,DE\nc@gmail.com,GB\n"


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def client_for(request, who):
    client = APIClient()
    client.default_format = "json"
    if who:
        client.force_authenticate(request.getfixturevalue(who))
    return client


def base(case):
    return f"/api/v1/cases/{case.reference}/affected/"


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("other_vendor_contact", 404), ("vendor_contact", 200), ("analyst", 200)],
)
def test_counts_access_matrix(request, case, who, status):
    response = client_for(request, who).get(base(case))
    assert response.status_code in ((401, 403) if status == 401 else (status,))


@pytest.mark.parametrize(
    ("who", "status"),
    [(None, 401), ("other_vendor_contact", 404), ("vendor_contact", 403), ("analyst", 202)],
)
def test_import_access_matrix(request, case, who, status):
    response = client_for(request, who).post(
        base(case) + "imports/",
        {"file": SimpleUploadedFile("l.csv", CSV), "format": "csv"},
        format="multipart",
    )
    assert response.status_code in ((401, 403) if status == 401 else (status,))
    assert AffectedImport.objects.count() == (1 if status == 202 else 0)


def test_import_then_counts_then_both_claims(request, case):
    staff = client_for(request, "analyst")
    r = staff.post(base(case) + "imports/",
                   {"file": SimpleUploadedFile("l.csv", CSV), "format": "csv"},
                   format="multipart")  # fmt: skip
    assert (r.data["status"], r.data["rows"]) == ("done", 3)
    detail = staff.get(base(case) + f"imports/{r.data['id']}/")
    assert detail.data["sha256"] == r.data["sha256"]
    vendor = client_for(request, "vendor_contact")
    assert vendor.get(base(case) + f"imports/{r.data['id']}/").status_code == 404
    counts = vendor.get(base(case)).data
    assert {lv["level"]: lv["count"] for lv in counts["levels"]} == {
        "mentions": 3, "emails": 3, "hosts": 3, "domains": 3, "business_domains": 2,
        "organizations": 2, "countries": 3,
    }  # fmt: skip
    assert "ips" not in counts
    assert counts["suffix_list"].startswith("PSL ")
    r = staff.post(
        base(case) + "claims/", {"level": "domains", "count": 3, "method": "PSL"}, format="json"
    )
    assert r.status_code == 201
    r = vendor.post(
        base(case) + "claims/",
        {"level": "domains", "count": 1, "method": "one customer", "note": "dupes"},
    )
    assert r.status_code == 201
    level = next(lv for lv in r.data["levels"] if lv["level"] == "domains")
    assert (level["firm_claim"]["count"], level["vendor_claim"]["count"]) == (3, 1)
    assert level["firm_claim"]["basis"]["value"] == 3
    assert Dispute.objects.filter(case=case).count() == 1


def test_bad_input_is_a_clear_400(request, case):
    staff = client_for(request, "analyst")
    r = staff.post(
        base(case) + "claims/", {"level": "planets", "count": -1, "method": ""}, format="json"
    )
    assert r.status_code == 400
    r = staff.post(base(case) + "imports/", {"format": "xls"}, format="multipart")
    assert r.status_code == 400
    assert AffectedImport.objects.count() == 0
