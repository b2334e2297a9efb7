"""The access audit (issue 20): every sign-in, failed sign-in, lock-out,
change of factors, export, download and lookup recorded with user, address
and time; admins see it (filtered, paginated) and export it as CSV."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse

from disclosure.accounts import audit
from disclosure.accounts.models import AccessEvent
from disclosure.core.timeutils import now
from disclosure.exports import services as exports
from tests.accounts.signin_helpers import PASSWORD
from tests.factories import make_case

pytestmark = pytest.mark.django_db


def test_sign_ins_and_failures_are_recorded_with_user_address_and_time(client, analyst):
    before = now()
    client.post("/login/", {"username": analyst.username, "password": "wrong"},
                REMOTE_ADDR="198.51.100.4")  # fmt: skip
    client.post("/login/", {"username": analyst.username, "password": PASSWORD},
                REMOTE_ADDR="198.51.100.4")  # fmt: skip
    rows = list(AccessEvent.objects.order_by("id"))
    assert [(r.kind, r.user, r.username, r.address, r.interface) for r in rows] == [
        ("sign_in_failed", None, analyst.username, "198.51.100.4", "staff"),
        ("sign_in", analyst, analyst.username, "198.51.100.4", "staff"),
    ]
    assert all(before <= r.at <= now() for r in rows)
    assert rows[0].detail == {"reason": "password"}


def test_a_lock_out_is_recorded_once(client, analyst):
    for _ in range(7):
        client.post("/login/", {"username": analyst.username, "password": "wrong"})
    kinds = list(AccessEvent.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["sign_in_failed"] * 5 + ["locked_out", "sign_in_locked", "sign_in_locked"]


def test_exports_and_downloads_are_recorded(
    client, legal, analyst, vendor, django_capture_on_commit_callbacks
):
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    client.force_login(legal)
    with django_capture_on_commit_callbacks(execute=True):
        export = exports.request_export(actor=legal, case=case, format="json")
    export.refresh_from_db()
    response = client.get(f"/cases/{case.reference}/exports/{export.pk}/download/")
    assert response.status_code == 200
    evidence = case.evidence.first()
    response = client.get(f"/cases/{case.reference}/evidence/{evidence.pk}/")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    rows = list(AccessEvent.objects.order_by("id").values_list("kind", "user", "detail"))
    assert rows == [
        ("export", legal.pk, {"case": case.reference, "export_id": export.pk,
                              "format": "json", "variant": "full"}),
        ("download", legal.pk, {"case": case.reference, "export_id": export.pk,
                                "sha256": export.sha256}),
        ("download", legal.pk, {"case": case.reference, "evidence_id": evidence.pk,
                                "sha256": evidence.sha256}),
    ]  # fmt: skip
    # The export was asked outside a request (no address); the downloads in one.
    assert list(AccessEvent.objects.order_by("id").values_list("address", flat=True)) == [
        None,
        "127.0.0.1",
        "127.0.0.1",
    ]


def test_outside_a_request_the_address_is_empty(analyst):
    row = audit.record(audit.Kind.LOOKUP, user=analyst, query="contoso.example")
    assert (row.address, row.username, row.detail) == (
        None,
        analyst.username,
        {"query": "contoso.example"},
    )


ACCESS = [("anonymous", 302), ("vendor_contact", 404), ("outsider", 404), ("analyst", 404),
          ("lead", 404), ("legal", 404), ("admin_user", 200)]  # fmt: skip


@pytest.mark.parametrize("who,status", ACCESS)
@pytest.mark.parametrize("name", ["staff:access_audit", "staff:access_audit_csv"])
def test_only_admins_see_the_audit(client, request, who, status, name):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))
    assert client.get(reverse(name)).status_code == status


def _rows(n: int, **fields):
    at = now()
    AccessEvent.objects.bulk_create(
        AccessEvent(at=at - timedelta(minutes=i), **{"kind": "sign_in", **fields}) for i in range(n)
    )


def test_the_audit_is_paginated_filtered_and_bounded(
    client, admin_user, analyst, django_assert_max_num_queries
):
    _rows(60, user=analyst, username=analyst.username, address="192.0.2.1", interface="staff")
    _rows(3, kind="token_failed", username="dsc_abc", address="192.0.2.9", interface="api")
    client.force_login(admin_user)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("staff:access_audit"))
    assert len(page.context["page_obj"]) == 50
    assert "Page 1 of 2" in page.content.decode()
    second = client.get(reverse("staff:access_audit"), {"page": 2})
    assert len(second.context["page_obj"]) == 13
    only = client.get(reverse("staff:access_audit"), {"kind": "token_failed"})
    assert [e.username for e in only.context["page_obj"]] == ["dsc_abc"] * 3
    by_address = client.get(reverse("staff:access_audit"), {"address": "192.0.2.9"})
    assert len(by_address.context["page_obj"]) == 3
    by_user = client.get(reverse("staff:access_audit"), {"user": analyst.username})
    assert by_user.context["page_obj"].paginator.count == 60
    today = now().date().isoformat()
    tomorrow = (now() + timedelta(days=1)).date().isoformat()
    assert client.get(reverse("staff:access_audit"),
                      {"since": tomorrow}).context["page_obj"].paginator.count == 0  # fmt: skip
    until = client.get(reverse("staff:access_audit"), {"until": today})
    assert until.context["page_obj"].paginator.count >= 3


def test_the_audit_exports_as_csv(client, admin_user, analyst):
    _rows(2, user=analyst, username=analyst.username, address="192.0.2.1", interface="staff")
    client.force_login(admin_user)
    response = client.get(reverse("staff:access_audit_csv"), {"address": "192.0.2.1"})
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="access-audit.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "kind", "user", "name_typed", "address", "interface", "detail"]
    assert [r[1:6] for r in rows[1:]] == [
        ["sign_in", analyst.username, analyst.username, "192.0.2.1", "staff"]
    ] * 2
    assert rows[1][0].endswith("+00:00")


def test_the_security_page_links_admins_to_the_audit(client, admin_user, analyst):
    client.force_login(admin_user)
    assert reverse("staff:access_audit") in client.get(reverse("staff:security")).content.decode()
    client.force_login(analyst)
    assert (
        reverse("staff:access_audit") not in client.get(reverse("staff:security")).content.decode()
    )
    assert reverse("staff:security") in client.get(reverse("staff:token_list")).content.decode()


def test_a_sign_out_is_recorded_and_its_session_forgotten(client, analyst):
    from disclosure.accounts.models import UserSession

    client.post("/login/", {"username": analyst.username, "password": PASSWORD})
    assert UserSession.objects.filter(user=analyst).count() == 1
    client.post("/logout/")
    assert UserSession.objects.filter(user=analyst).count() == 0
    assert list(AccessEvent.objects.order_by("id").values_list("kind", flat=True)) == [
        "sign_in", "sign_out"
    ]  # fmt: skip


@pytest.mark.parametrize("remote,stored", [("", None), ("unix:/run/sock", None),
                                           ("2001:db8::1", "2001:db8::1")])  # fmt: skip
def test_the_address_is_an_ip_address_or_none(client, remote, stored):
    client.post("/login/", {"username": "nobody", "password": "x"}, REMOTE_ADDR=remote)
    assert AccessEvent.objects.get().address == stored


@pytest.mark.parametrize(
    "proxies,forwarded,stored",
    [
        (0, "203.0.113.9", "127.0.0.1"),  # no proxy declared: the header is not believed
        (1, "203.0.113.9", "203.0.113.9"),  # what the proxy appended
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the client's own claim stands left
        (2, "203.0.113.9, 10.0.0.2", "203.0.113.9"),  # two proxies: the outer one's entry
    ],
)
def test_behind_declared_proxies_the_address_is_the_one_they_forwarded(
    client, settings, proxies, forwarded, stored
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": proxies}
    client.post(
        "/login/",
        {"username": "nobody", "password": "x"},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    assert AccessEvent.objects.get().address == stored
