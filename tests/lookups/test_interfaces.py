"""The lookup in the portal and over the API: one answer for "not
verified", "not present" and "lookups off" (status, body, headers, and
time within noise), the 429 answer, the verification pages, the access
matrix."""

import re
import statistics
import time

import pytest
from django.core import mail
from rest_framework.test import APIClient

from disclosure.affected.models import AffectedList
from disclosure.cases.stages import Stage
from disclosure.comms.models import OutboxMessage
from disclosure.lookups.models import DomainVerification
from disclosure.tokens import services as tokens
from tests.factories import MembershipFactory, make_case
from tests.lookups.conftest import import_records, verify

pytestmark = pytest.mark.django_db

# Headers that differ between any two responses, whatever they say.
VARYING = {"date", "set-cookie"}
_CSRF = re.compile(rb'(csrfmiddlewaretoken" value="|"X-CSRFToken": ")[^"]+')


def _token_client(user) -> APIClient:
    client = APIClient()
    secret = tokens.create_token(user=user, name="lookups", scope="read_write").secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _headers(response) -> dict:
    return {k.lower(): v for k, v in response.headers.items() if k.lower() not in VARYING}


def _api(client, domain="northwind.com"):
    r = client.get("/api/v1/lookups/", {"domain": domain})
    return r.status_code, r.content, _headers(r)


def _portal(client, domain="northwind.com"):
    r = client.post("/portal/lookup/", {"domain": domain})
    # The CSRF token is masked anew in every page: the only bytes that vary.
    return r.status_code, _CSRF.sub(rb"\1-", r.content), _headers(r)


def test_not_verified_not_present_and_off_answer_alike_in_the_portal_and_the_api(
    client, analyst, vendor, asker, high_limits
):
    client.force_login(asker)
    api = _token_client(asker)
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(case, analyst, "domain\nfabrikam.com\n")
    verify(asker, "northwind.com")
    answers = {"not present": (_portal(client), _api(api))}
    import_records(case, analyst, "email\nann@northwind.com\n")
    AffectedList.objects.filter(case=case).update(lookups_enabled=False)
    answers["lookups off"] = (_portal(client), _api(api))
    AffectedList.objects.filter(case=case).update(lookups_enabled=True)
    asker.domain_verifications.all().delete()
    answers["not verified"] = (_portal(client), _api(api))
    portal, api_answer = answers["not present"]
    assert portal[0] == 200 and b"No case we can show you mentions northwind.com." in portal[1]
    assert api_answer[:2] == (
        200,
        b'{"domain":"northwind.com","message":"No case we can show you mentions '
        b'northwind.com.","cases":[]}',
    )
    for name, got in answers.items():
        assert got == answers["not present"], name
    # The control: verified, present and on answers otherwise.
    verify(asker, "northwind.com")
    portal, api_answer = _portal(client), _api(api)
    assert case.reference.encode() in portal[1] and case.reference.encode() in api_answer[1]


def test_the_refusals_take_the_same_time(analyst, vendor, affected_org, high_limits):
    """Medians of 30 interleaved API lookups each: the three refusals within
    noise of each other (a generous bound: the machine is shared)."""
    present = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(present, analyst, "email,domain\n" + "".join(
        f"u{i}@northwind.com,\n,h{i}.northwind.com\n" for i in range(200)))  # fmt: skip
    off = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(off, analyst, "domain\n" + "".join(f"h{i}.tailspin.com\n" for i in range(200)))
    AffectedList.objects.filter(case=off).update(lookups_enabled=False)
    users = {
        name: MembershipFactory(organization=affected_org, role="vendor_contact").user
        for name in ("not verified", "not present", "lookups off")
    }
    verify(users["not present"], "absent.com")
    verify(users["lookups off"], "tailspin.com")
    asks = {
        "not verified": (_token_client(users["not verified"]), "northwind.com"),
        "not present": (_token_client(users["not present"]), "absent.com"),
        "lookups off": (_token_client(users["lookups off"]), "tailspin.com"),
    }
    times: dict[str, list[float]] = {name: [] for name in asks}
    for _ in range(30):
        for name, (client, domain) in asks.items():
            started = time.perf_counter()
            r = client.get("/api/v1/lookups/", {"domain": domain})
            times[name].append(time.perf_counter() - started)
            assert r.status_code == 200 and r.json()["cases"] == []
    medians = {name: statistics.median(t) for name, t in times.items()}
    fastest, slowest = min(medians.values()), max(medians.values())
    assert slowest - fastest <= max(0.015, 0.5 * fastest), medians


def test_over_the_budget_a_429_with_retry_after(client, asker, settings):
    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "2/hour"
    client.force_login(asker)
    api = _token_client(asker)
    assert _portal(client)[0] == 200
    assert _api(api)[0] == 200
    page = client.post("/portal/lookup/", {"domain": "northwind.com"})
    assert page.status_code == 429 and "Too many lookups" in page.content.decode()
    assert 0 < int(page["Retry-After"]) <= 3600
    r = api.get("/api/v1/lookups/", {"domain": "northwind.com"})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert 0 < int(r["Retry-After"]) <= 3600


def test_the_address_budget_reads_the_client_address_behind_declared_proxies(
    asker, affected_org, settings
):
    settings.DISCLOSURE_LOOKUP_RATE_ADDRESS = "1/hour"
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    other = MembershipFactory(organization=affected_org, role="vendor_contact").user
    first, second = _token_client(asker), _token_client(other)
    hop = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    assert first.get("/api/v1/lookups/", {"domain": "northwind.com"}, **hop).status_code == 200
    assert second.get("/api/v1/lookups/", {"domain": "northwind.com"}, **hop).status_code == 429
    elsewhere = {"HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert (
        second.get("/api/v1/lookups/", {"domain": "northwind.com"}, **elsewhere).status_code == 200
    )


def test_a_bad_domain_is_a_form_error_and_a_400(client, asker):
    client.force_login(asker)
    page = client.post("/portal/lookup/", {"domain": "azurewebsites.net"})
    assert page.status_code == 400 and "public suffix" in page.content.decode()
    r = _token_client(asker).get("/api/v1/lookups/", {"domain": "10.0.0.1"})
    assert r.status_code == 400 and r.json()["field"] == "domain"


def test_a_verified_lookup_shows_counts_for_the_own_domain_only(client, case, asker):
    verify(asker, "northwind.com")
    client.force_login(asker)
    page = client.post("/portal/lookup/", {"domain": "northwind.com"}).content.decode()
    assert case.reference in page and "fabrikam" not in page and "ann@" not in page
    assert "Secret project names" not in page  # staff's free text for "other"
    r = _token_client(asker).post("/api/v1/lookups/", {"domain": "northwind.com"}, format="json")
    assert r.json()["cases"] == [
        {
            "reference": case.reference,
            "stage": "vendor_notified",
            "stage_label": "Vendor notified",
            "data_categories": ["E-mail addresses", "Other", "Personal data (PII)"],
            "mentions": 5,
            "emails": 2,
            "hosts": 3,
        }
    ]


# --- verification pages and endpoints --------------------------------------------


def test_the_portal_walks_a_mail_verification(client, asker, django_capture_on_commit_callbacks):
    client.force_login(asker)
    page = client.get("/portal/lookup/verify/", {"domain": "NorthWind.com"})
    assert page.status_code == 200 and "security@northwind.com" in page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(
            "/portal/lookup/verify/",
            {"domain": "northwind.com", "address": "security@northwind.com"},
        )
    assert sent.status_code == 302 and sent["Location"].startswith("/portal/lookup/verify/code/")
    code = re.search(r"The code is: (\d{4}-\d{4})", mail.outbox[0].body).group(1)
    wrong = client.post("/portal/lookup/verify/code/", {"domain": "northwind.com",
                                                        "code": "0000-000"})  # fmt: skip
    assert wrong.status_code == 400 and "8 digits" in wrong.content.decode()
    done = client.post("/portal/lookup/verify/code/", {"domain": "northwind.com", "code": code})
    assert done.status_code == 302 and done["Location"] == "/portal/lookup/domains/"
    listing = client.get("/portal/lookup/domains/").content.decode()
    assert "northwind.com" in listing and "Code mailed to an RFC 2142 role address" in listing


def test_the_portal_refuses_an_unknown_address_with_a_form_error(client, asker, settings):
    settings.DISCLOSURE_LOOKUP_SECURITY_TXT_URL = "http://127.0.0.1:9/{domain}"
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = True
    client.force_login(asker)
    page = client.post("/portal/lookup/verify/",
                       {"domain": "northwind.com", "address": "ceo@northwind.com"})  # fmt: skip
    assert page.status_code == 400 and "could not be read" in page.content.decode()
    assert not OutboxMessage.objects.exists()


def test_the_portal_shows_the_dns_record_to_publish(client, asker):
    client.force_login(asker)
    started = client.post("/portal/lookup/verify/", {"domain": "northwind.com", "method": "dns"})
    assert started.status_code == 302
    page = client.get(started["Location"]).content.decode()
    row = DomainVerification.objects.get()
    assert "_disclosure-verify.northwind.com" in page and row.nonce not in page
    assert re.search(r"disclosure-verify=[0-9a-f]{40}", page)


def test_the_api_verification_endpoints(asker, django_capture_on_commit_callbacks):
    api = _token_client(asker)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        r = api.post("/api/v1/lookups/verifications/", {"domain": "northwind.com", "method": "mail",
                     "address": "abuse@northwind.com"}, format="json")  # fmt: skip
    assert r.status_code == 201
    assert {k: r.json()[k] for k in ("domain", "method", "address", "status")} == {
        "domain": "northwind.com", "method": "role_mail", "address": "abuse@northwind.com",
        "status": "pending",
    }  # fmt: skip
    code = re.search(r"The code is: (\d{4}-\d{4})", mail.outbox[0].body).group(1)
    wrong = "1111-1111" if code != "1111-1111" else "2222-2222"
    r = api.post("/api/v1/lookups/verifications/confirm/",
                 {"domain": "northwind.com", "code": wrong}, format="json")  # fmt: skip
    assert r.status_code == 400 and r.json()["field"] == "code"
    r = api.post("/api/v1/lookups/verifications/confirm/",
                 {"domain": "northwind.com", "code": code}, format="json")  # fmt: skip
    assert r.status_code == 200 and r.json()["status"] == "verified"
    r = api.post("/api/v1/lookups/verifications/", {"domain": "fabrikam.com",
                 "method": "dns_txt"}, format="json")  # fmt: skip
    assert r.status_code == 201
    assert r.json()["record_name"] == "_disclosure-verify.fabrikam.com"
    assert r.json()["record_value"].startswith("disclosure-verify=")
    listed = api.get("/api/v1/lookups/verifications/").json()
    assert [(v["domain"], v["status"]) for v in listed] == [
        ("northwind.com", "verified"),
        ("fabrikam.com", "pending"),
    ]
    r = api.post("/api/v1/lookups/verifications/check-dns/", {"domain": "absent.com"},
                 format="json")  # fmt: skip
    assert r.status_code == 404


# --- who may -------------------------------------------------------------------

PAGES = [
    "/portal/lookup/",
    "/portal/lookup/domains/",
    "/portal/lookup/verify/?domain=northwind.com",
    "/portal/lookup/verify/code/",
    "/portal/lookup/verify/dns/?domain=northwind.com",
]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("analyst", 404), ("outsider", 404), ("vendor_contact", 200),
     ("asker", 200)],
)  # fmt: skip
def test_portal_access(client, request, url, who, expected):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    r = client.get(url)
    assert r.status_code == expected
    if who == "anonymous":
        assert r["Location"].startswith("/portal/login/")


API = [
    ("get", "/api/v1/lookups/?domain=northwind.com"),
    ("post", "/api/v1/lookups/"),
    ("get", "/api/v1/lookups/verifications/"),
    ("post", "/api/v1/lookups/verifications/"),
    ("post", "/api/v1/lookups/verifications/confirm/"),
    ("post", "/api/v1/lookups/verifications/check-dns/"),
]


@pytest.mark.parametrize(("method", "url"), API)
@pytest.mark.parametrize("who", ["anonymous", "analyst", "admin_user", "outsider"])
def test_api_access(request, method, url, who):
    client = APIClient() if who == "anonymous" else _token_client(request.getfixturevalue(who))
    r = getattr(client, method)(url, {"domain": "northwind.com"}, format="json")
    assert r.status_code == (401 if who == "anonymous" else 403)
    assert not DomainVerification.objects.exists()


def test_a_read_only_token_may_look_up_but_not_start_a_verification(asker):
    client = APIClient()
    secret = tokens.create_token(user=asker, name="ro", scope="read").secret
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/lookups/", {"domain": "northwind.com"}).status_code == 200
    r = client.post("/api/v1/lookups/verifications/", {"domain": "northwind.com",
                    "method": "dns_txt"}, format="json")  # fmt: skip
    assert r.status_code == 403


def test_admins_read_the_verifications_without_their_secrets(client, admin_user, asker):
    row = verify(asker, "northwind.com")
    client.force_login(admin_user)
    listing = client.get("/admin/lookups/domainverification/")
    assert listing.status_code == 200 and "northwind.com" in listing.content.decode()
    assert "/admin/lookups/domainverification/add/" not in listing.content.decode()
    page = client.get(f"/admin/lookups/domainverification/{row.pk}/change/")
    assert page.status_code == 200 and row.nonce not in page.content.decode()
