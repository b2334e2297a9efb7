import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] in ("sqlite", "postgresql")


def test_root_is_the_staff_dashboard_behind_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/login/?next=/"


def test_private_folder_is_not_served(client, analyst, vendor):
    from tests.factories import make_case

    case = make_case(actor=analyst, vendor=vendor)
    sha = case.evidence.get().sha256
    for path in (
        f"/sha256/{sha[:2]}/{sha[2:4]}/{sha}",
        f"/media/sha256/{sha[:2]}/{sha[2:4]}/{sha}",
        f"/static/sha256/{sha[:2]}/{sha[2:4]}/{sha}",
    ):
        assert client.get(path).status_code == 404
