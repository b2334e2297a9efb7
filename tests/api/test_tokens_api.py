"""/api/v1/tokens/: a signed-in person (staff or vendor contact) creates
tokens from their session, never with a token; lists and revokes their
own (admins: everyone's)."""

import pytest
from rest_framework.test import APIClient

from disclosure.tokens import services
from disclosure.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def session(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_a_vendor_contact_creates_and_uses_a_token(vendor_contact, case_at):
    case = case_at("vendor_notified")
    r = session(vendor_contact).post(
        "/api/v1/tokens/", {"name": "our SOC", "scope": "read", "days": 7}, format="json"
    )
    assert r.status_code == 201, r.json()
    secret = r.json()["secret"]
    assert secret.startswith(r.json()["prefix"])
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert token_client.get(f"/api/v1/cases/{case.reference}/").status_code == 200
    listed = token_client.get("/api/v1/tokens/").json()["results"]
    assert [t["name"] for t in listed] == ["our SOC"] and "secret" not in listed[0]


def test_a_token_cannot_mint_tokens(as_, analyst):
    r = as_(analyst).post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert (r.status_code, r.json()["code"]) == (403, "not_permitted")
    assert ApiToken.objects.count() == 1  # only the one used


def test_bad_input(analyst):
    client = session(analyst)
    for body in ({"name": ""}, {"name": "x", "scope": "all"}, {"name": "x", "days": 0}):
        r = client.post("/api/v1/tokens/", body, format="json")
        assert (r.status_code, r.json()["code"]) == (400, "validation_failed"), body
    client.post("/api/v1/tokens/", {"name": "dup"}, format="json")
    r = client.post("/api/v1/tokens/", {"name": "dup"}, format="json")
    assert (r.status_code, r.json()["field"]) == (400, "name")


def test_revoke_own_or_as_admin(analyst, lead, admin_user):
    mine = services.create_token(user=analyst, name="mine", scope="read_write")
    theirs = services.create_token(user=lead, name="theirs").token
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {mine.secret}")
    r = client.post(f"/api/v1/tokens/{theirs.pk}/revoke/")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
    r = session(admin_user).post(f"/api/v1/tokens/{theirs.pk}/revoke/")
    assert r.status_code == 200 and r.json()["revoked_at"]
    r = client.post(f"/api/v1/tokens/{mine.token.pk}/revoke/")
    assert r.status_code == 200
    # revoked: the token no longer authenticates
    r = client.get("/api/v1/tokens/")
    assert (r.status_code, r.json()["code"]) == (401, "token_revoked")
    assert len(session(admin_user).get("/api/v1/tokens/").json()["results"]) == 2


def test_anonymous_gets_401(api):
    assert api.get("/api/v1/tokens/").status_code == 401
    assert api.post("/api/v1/tokens/", {"name": "x"}, format="json").status_code == 401


def test_token_list_query_count(admin_user, analyst, django_assert_max_num_queries):
    for i in range(5):
        services.create_token(user=analyst, name=f"t{i}")
    client = session(admin_user)
    client.get("/api/v1/tokens/")
    with django_assert_max_num_queries(3):  # memberships, count, rows with owners
        r = client.get("/api/v1/tokens/")
    assert r.json()["count"] == 5
