"""Refusals render the project's own pages, which name nothing they hide."""

import pytest

pytestmark = pytest.mark.django_db


def test_404_page_says_nothing_about_what_it_hides(client, vendor_contact):
    client.force_login(vendor_contact)
    response = client.get("/cases/DSC-2026-0001/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Not found" in body and "not yours to see" in body
    assert "DSC-2026-0001" not in body


def test_403_page_is_the_projects_own(client, legal):
    client.force_login(legal)  # legal may not open cases
    response = client.get("/cases/new/")
    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()
