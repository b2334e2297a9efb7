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


def test_favicon_is_served_to_anyone_and_cached(client):
    """/favicon.ico, which every browser asks for, was a 404 (logged on each page)."""
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert response["Cache-Control"] == "public, max-age=86400"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    assert client.head("/favicon.ico").status_code == 200
    assert client.post("/favicon.ico").status_code == 405
