"""The committed schema (docs/openapi.yaml) is the code's schema, and the
schema and docs are served at /api/v1/schema/ and /api/v1/docs/ without
anything from a CDN."""

import io
from pathlib import Path

import pytest
from django.core.management import call_command

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"

pytestmark = pytest.mark.django_db


def test_committed_schema_matches_the_code():
    out = io.StringIO()
    call_command("spectacular", stdout=out)
    assert out.getvalue() == OPENAPI.read_text(), (
        "docs/openapi.yaml is out of date: run "
        "`python manage.py spectacular --file docs/openapi.yaml` and commit it."
    )


def test_schema_is_served_to_anyone(api):
    r = api.get("/api/v1/schema/?format=json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["info"]["title"] == "Disclosure API"
    paths = schema["paths"]
    assert "/api/v1/cases/{reference}/actions/notify_vendor/" in paths
    assert "/api/v1/intake/findings/" in paths
    # Every operation documents the JSON error answers.
    post = paths["/api/v1/cases/{reference}/actions/secure/"]["post"]
    assert {"201", "400", "401", "403", "404", "409", "429"} <= set(post["responses"])


def test_docs_come_from_the_sidecar(api):
    r = api.get("/api/v1/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/api/v1/schema/" in html
