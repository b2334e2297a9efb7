"""Authentication, token scopes, throttles and the shape of every error."""

from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from disclosure.core.timeutils import now
from disclosure.tokens import services as tokens
from disclosure.tokens.models import ApiToken

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_anonymous_gets_401_json_with_the_scheme(api):
    r = api.get("/api/v1/cases/")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"
    assert r.json()["message"]
    assert r["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer dsc_not-a-token", "Bearer", "Bearer a b", "Token dsc_nope"]
)
def test_a_bad_token_is_401(api, header):
    api.credentials(HTTP_AUTHORIZATION=header)
    r = api.get("/api/v1/cases/")
    assert r.status_code == 401
    assert r.json()["code"] == "token_invalid"


def test_expired_and_revoked_tokens_are_401_with_their_reason(analyst):
    expired = tokens.create_token(user=analyst, name="old", days=1)
    ApiToken.objects.filter(pk=expired.token.pk).update(expires_at=now() - timedelta(seconds=1))
    r = bearer(expired.secret).get("/api/v1/cases/")
    assert (r.status_code, r.json()["code"]) == (401, "token_expired")

    revoked = tokens.create_token(user=analyst, name="gone")
    tokens.revoke_token(actor=analyst, token_id=revoked.token.pk)
    r = bearer(revoked.secret).get("/api/v1/cases/")
    assert (r.status_code, r.json()["code"]) == (401, "token_revoked")


def test_a_token_records_its_last_use(analyst):
    issued = tokens.create_token(user=analyst, name="x")
    assert bearer(issued.secret).get("/api/v1/cases/").status_code == 200
    assert ApiToken.objects.get().last_used_at is not None


def test_a_read_token_reads_but_never_writes(as_, analyst, case_at):
    case = case_at("found")
    client = as_(analyst, scope="read")
    assert client.get(f"/api/v1/cases/{case.reference}/").status_code == 200
    r = client.patch(f"/api/v1/cases/{case.reference}/", {"title": "New"}, format="json")
    assert (r.status_code, r.json()["code"]) == (403, "token_read_only")
    r = client.post(
        f"/api/v1/cases/{case.reference}/actions/set_legal_hold/",
        {"on": True, "reason": "litigation"},
        format="json",
    )
    assert r.status_code == 403
    case.refresh_from_db()
    assert case.title == "Exposed bucket" and not case.legal_hold


def test_session_authentication_needs_csrf_for_writes(analyst, case_at):
    case = case_at("found")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(analyst)
    assert client.get("/api/v1/cases/").status_code == 200
    r = client.patch(f"/api/v1/cases/{case.reference}/", {"title": "New"}, format="json")
    assert r.status_code == 403
    assert "CSRF" in r.json()["message"]
    case.refresh_from_db()
    assert case.title == "Exposed bucket"


def test_throttled_per_token(settings, analyst, as_):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/min", "ip": "100/min"},
    }
    client = as_(analyst)
    assert [client.get("/api/v1/cases/").status_code for _ in range(2)] == [200, 200]
    r = client.get("/api/v1/cases/")
    assert (r.status_code, r.json()["code"]) == (429, "throttled")
    assert "Retry-After" in r
    # Another token of the same user has its own budget.
    assert as_(analyst).get("/api/v1/cases/").status_code == 200


def test_throttled_per_ip_whoever_asks(settings, api, analyst, as_):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100/min", "ip": "3/min"},
    }
    first, second = as_(analyst), as_(analyst)
    assert [first.get("/api/v1/cases/").status_code for _ in range(2)] == [200, 200]
    assert second.get("/api/v1/cases/").status_code == 200
    # The address has had its three: a fourth token from it is refused too.
    assert as_(analyst).get("/api/v1/cases/").status_code == 429
    assert first.get("/api/v1/cases/", REMOTE_ADDR="10.0.0.9").status_code == 200
    # a forged X-Forwarded-For does not make another address
    forged = first.get("/api/v1/cases/", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert forged.status_code == 429


@pytest.mark.redis
def test_throttles_count_in_the_shared_redis_cache(settings, analyst, as_, redis_cache):
    """With the production cache the budget is one for every process: the
    count is in Redis, where another process (here a plain client) sees it."""
    client_redis, prefix = redis_cache
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "2/min", "ip": "100/min"},
    }
    client = as_(analyst)
    assert [client.get("/api/v1/cases/").status_code for _ in range(2)] == [200, 200]
    (key,) = [k for k in client_redis.scan_iter(f"{prefix}:*:throttle:token:*")]
    assert int(client_redis.get(key)) == 2
    r = client.get("/api/v1/cases/")
    assert (r.status_code, r.json()["code"]) == (429, "throttled")
    assert 1 <= int(r["Retry-After"]) <= 60


def test_an_unreachable_cache_does_not_take_the_api_down(settings, analyst, as_, caplog):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    assert as_(analyst).get("/api/v1/cases/").status_code == 200
    assert "could not be counted" in caplog.text


def test_unknown_paths_and_methods_are_json(as_, analyst):
    client = as_(analyst)
    r = client.get("/api/v1/nothing/here/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = client.delete("/api/v1/cases/")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    r = client.post("/api/v1/cases/", "{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "parse_error"


def test_a_body_over_the_limit_is_413_json(settings, as_, analyst, vendor):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = {"source": "s", "external_id": "x", "vendor": vendor.pk, "title": "t",
            "asset_provider": "aws", "asset_kind": "s3_bucket", "asset_identifier": "s3://x",
            "evidence": [{"name": "a", "content_base64": "QUFB" * 1000}]}  # fmt: skip
    r = as_(analyst).post("/api/v1/intake/findings/", body, format="json")
    assert (r.status_code, r.json()["code"]) == (413, "request_too_large")


def test_bodies_of_the_wrong_shape_are_400(as_, analyst):
    client = as_(analyst)
    for raw in ("[1, 2]", "null", '"text"'):
        r = client.post("/api/v1/intake/findings/", raw, content_type="application/json")
        assert (r.status_code, r.json()["code"]) == (400, "validation_failed"), raw


def test_a_post_to_a_path_that_does_not_exist_is_a_json_404(analyst):
    client = APIClient(enforce_csrf_checks=True)  # as a real client: no CSRF cookie
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {tokens.create_token(user=analyst, name='x').secret}"
    )
    r = client.post("/api/v1/tokens/-1/revoke/", {}, format="json")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(
    ("rate", "parsed"),
    [("600/min", (600, 60)), ("5/s", (5, 1)), ("100/hour", (100, 3600)), ("7/day", (7, 86400)),
     (None, None)],
)  # fmt: skip
def test_throttle_rates_read_as_drf_writes_them(rate, parsed):
    from disclosure.api.throttling import parse_rate

    assert parse_rate(rate) == parsed


@pytest.mark.parametrize("rate", ["600", "ten/min", "5/week", "/min", "-1/min"])
def test_a_malformed_throttle_rate_is_a_configuration_error(rate):
    from django.core.exceptions import ImproperlyConfigured

    from disclosure.api.throttling import parse_rate

    with pytest.raises(ImproperlyConfigured, match="Invalid API throttle rate"):
        parse_rate(rate)
