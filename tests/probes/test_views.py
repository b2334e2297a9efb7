"""The re-probe pages: who may see and change what (anonymous, another
vendor, the case's vendor, staff by role; a case one may not see is 404),
the panel on the case page, the settings form, and the two offers."""

import pytest
from django.urls import reverse

from disclosure.cases.stages import Stage
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.probes.models import ProbeResult, ProbeSchedule, Verdict
from disclosure.probes.runs import run_due_probes
from tests.localhttp import Answer
from tests.probes.conftest import DENIED, LISTING, later

pytestmark = pytest.mark.django_db

WHO = ["anonymous", "other_vendor_contact", "vendor_contact", "outsider", "legal", "analyst",
       "lead", "admin_user"]  # fmt: skip
# GET of the history page.
VIEW = {"anonymous": 302, "other_vendor_contact": 404, "vendor_contact": 404, "outsider": 404,
        "legal": 200, "analyst": 200, "lead": 200, "admin_user": 200}  # fmt: skip
# POST of a change (settings, probe now).
CHANGE = {"anonymous": 302, "other_vendor_contact": 404, "vendor_contact": 404, "outsider": 404,
          "legal": 403, "analyst": 302, "lead": 302, "admin_user": 302}  # fmt: skip


def login(client, request, who):
    if who != "anonymous":
        client.force_login(request.getfixturevalue(who))


def url(name, case, *args):
    return reverse(f"probes:{name}", args=[case.reference, *args])


@pytest.mark.parametrize("who", WHO)
def test_history_page_access(client, request, notified_case, who):
    login(client, request, who)
    response = client.get(url("history", notified_case))
    assert response.status_code == VIEW[who]
    if VIEW[who] == 302:
        assert response["Location"].startswith(reverse("staff:login"))


@pytest.mark.parametrize("who", WHO)
def test_settings_change_access(client, request, notified_case, who):
    login(client, request, who)
    response = client.post(
        url("schedule", notified_case), {"interval_hours": "12", "url": "", "paused": "on"}
    )
    assert response.status_code == CHANGE[who]
    changed = CaseEvent.objects.filter(
        case=notified_case, kind=EventKind.PROBE_SETTINGS_CHANGED
    ).count()
    assert changed == (1 if CHANGE[who] == 302 and who != "anonymous" else 0)


@pytest.mark.parametrize("who", WHO)
def test_probe_now_access(client, request, loopback_allowed, asset, notified_case, who):
    login(client, request, who)
    response = client.post(url("probe_now", notified_case))
    assert response.status_code == CHANGE[who]
    expected = 1 if CHANGE[who] == 302 and who != "anonymous" else 0
    assert ProbeResult.objects.filter(case=notified_case).count() == expected


def test_unknown_case_is_404(client, analyst):
    client.force_login(analyst)
    assert client.get("/cases/DSC-2026-9999/probes/").status_code == 404


def test_get_is_not_a_change(client, analyst, notified_case):
    client.force_login(analyst)
    assert client.get(url("schedule", notified_case)).status_code == 405
    assert client.get(url("probe_now", notified_case)).status_code == 405


def test_panel_on_the_case_page_for_staff_only(
    client, loopback_allowed, asset, notified_case, analyst, legal
):
    run_due_probes()
    client.force_login(analyst)
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert 'id="probes"' in page
    assert "Public</strong> since" in page
    assert f"127.0.0.1:{asset.port}" in page
    assert url("probe_now", notified_case) in page
    assert "Record secured with this capture" not in page
    client.force_login(legal)
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert 'id="probes"' in page
    assert url("probe_now", notified_case) not in page  # legal reads, does not change


def test_settings_form_errors_are_shown(client, analyst, notified_case, private_refused):
    client.force_login(analyst)
    response = client.post(
        url("schedule", notified_case),
        {"interval_hours": "6", "url": "http://169.254.169.254/latest/meta-data/"},
    )
    assert response.status_code == 400
    assert "cloud metadata address" in response.content.decode()
    assert not ProbeSchedule.objects.filter(case=notified_case, url__contains="169").exists()
    response = client.post(url("schedule", notified_case), {"interval_hours": "0", "url": ""})
    assert response.status_code == 400


def test_settings_form_saves(client, analyst, notified_case):
    client.force_login(analyst)
    response = client.post(
        url("schedule", notified_case),
        {"interval_hours": "24", "url": "https://acct.blob.core.windows.net/c?comp=list"},
    )
    assert response.status_code == 302
    schedule = ProbeSchedule.objects.get(case=notified_case)
    assert (schedule.paused, schedule.interval_hours) == (False, 24)
    assert schedule.url == "https://acct.blob.core.windows.net/c?comp=list"
    page = client.get(url("history", notified_case)).content.decode()
    assert "https://acct.blob.core.windows.net/c?comp=list" in page
    assert "Every 24 h" in page


def test_record_secured_offer_through_the_page(
    client, loopback_allowed, asset, notified_case, analyst, legal
):
    asset.answers["/container"] = Answer(403, DENIED)
    run_due_probes()
    result = ProbeResult.objects.get(case=notified_case)
    client.force_login(legal)
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert "Record secured with this capture" not in page  # legal may not record 'secured'
    assert client.post(url("record_secured", notified_case, result.pk)).status_code == 403
    client.force_login(analyst)
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert "Record secured with this capture" in page
    assert url("record_secured", notified_case, result.pk) in page
    response = client.post(url("record_secured", notified_case, result.pk))
    assert response.status_code == 302
    notified_case.refresh_from_db()
    assert notified_case.stage == Stage.SECURED
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert "Record secured with this capture" not in page


def test_reexposure_alarm_and_follow_up_through_the_page(
    client, loopback_allowed, asset, notified_case, analyst
):
    asset.answers["/container"] = Answer(403, DENIED)
    run_due_probes()
    denied = ProbeResult.objects.get(case=notified_case)
    client.force_login(analyst)
    client.post(url("record_secured", notified_case, denied.pk))
    asset.answers["/container"] = Answer(200, LISTING)
    run_due_probes(at=later(6))
    public = ProbeResult.objects.get(case=notified_case, verdict=Verdict.PUBLIC)
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert "badge-reexposed" in page
    assert "public again" in page
    assert url("open_follow_up", notified_case, public.pk) in page
    # A result of another kind is refused with a message, nothing opened.
    response = client.post(url("open_follow_up", notified_case, denied.pk), follow=True)
    assert "not a &#x27;public&#x27; re-probe" in response.content.decode()
    response = client.post(url("open_follow_up", notified_case, public.pk))
    assert response.status_code == 302
    follow_up = notified_case.follow_ups.get()
    assert response["Location"] == follow_up.get_absolute_url()
    page = client.get(notified_case.get_absolute_url()).content.decode()
    assert "badge-reexposed" not in page
    assert "Re-exposure followed up in" in page and follow_up.reference in page


def test_result_of_another_case_is_404(client, loopback_allowed, asset, analyst, vendor):
    from tests.probes.conftest import asset_case

    one = asset_case(
        Stage.VENDOR_NOTIFIED, analyst=analyst, vendor=vendor, identifier=asset.url("/a")
    )
    two = asset_case(
        Stage.VENDOR_NOTIFIED, analyst=analyst, vendor=vendor, identifier=asset.url("/b")
    )
    run_due_probes()
    foreign = ProbeResult.objects.get(case=two)
    client.force_login(analyst)
    assert client.post(url("record_secured", one, foreign.pk)).status_code == 404
    assert client.post(url("open_follow_up", one, foreign.pk)).status_code == 404


def test_history_queries_do_not_grow_with_results(
    client, loopback_allowed, asset, notified_case, analyst, django_assert_max_num_queries
):
    for hours in range(0, 60, 6):
        run_due_probes(at=later(hours))
    assert ProbeResult.objects.filter(case=notified_case).count() == 10
    client.force_login(analyst)
    with django_assert_max_num_queries(20):
        response = client.get(url("history", notified_case))
    assert response.status_code == 200
    assert response.content.decode().count('class="probe-public"') >= 10


def test_panel_reads_in_one_query(
    loopback_allowed, asset, notified_case, analyst, django_assert_num_queries
):
    from disclosure.cases import access
    from disclosure.probes.selectors import probe_panel

    access.can(analyst, access.Action.VIEW, notified_case)  # the principal, read once per request
    with django_assert_num_queries(1):
        assert probe_panel(analyst, notified_case).schedule is None
    asset.answers["/container"] = Answer(403, DENIED)
    run_due_probes()
    with django_assert_num_queries(1):
        panel = probe_panel(analyst, notified_case)
        offer = panel.secured_offer
        assert (offer.verdict, offer.evidence.kind) == ("not_public", "retest_result")
        assert panel.last == offer
