"""The demo's watchers (issue 18, "Must show"): beside the dev server,
``manage.py run_watchers`` records the silent case's missed deadlines, a
re-probe of a local demo endpoint changes a demo case's probe status, and a
webhook delivery reaches the demo receiver and shows in the log."""

import io
import time

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from disclosure.cases.models import Case
from disclosure.demo.endpoints import DEMO_WEBHOOK_SECRET
from disclosure.demo.watchers import demo_site
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.probes.models import ProbeSchedule
from disclosure.webhooks.models import WebhookDelivery, WebhookSubscription
from disclosure.webhooks.signing import signature_header

S3 = "Public S3 bucket with nightly database backups"
SILENT = "Azure blob container with HR exports, vendor silent"


@pytest.fixture
def demo_settings(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]  # as make seed
    return settings


def seed() -> None:
    call_command("seed_demo", stdout=io.StringIO())


@override_settings(ROOT_URLCONF="tests.demo.demo_urls")
def test_the_demo_asset_answers_as_its_provider_would(client: Client):
    closed = client.get("/demo/assets/contoso-db-backups-eu/")
    assert closed.status_code == 403
    assert b"<Code>AccessDenied</Code>" in closed.content
    public = client.get("/demo/assets/fabrikamhr-exports/")
    assert public.status_code == 200
    assert b"<Name>payroll-2026-10.csv</Name>" in public.content
    assert client.get("/demo/assets/nothing-here/").status_code == 404


@override_settings(ROOT_URLCONF="tests.demo.demo_urls")
def test_the_demo_receiver_takes_only_deliveries_signed_with_the_demo_secret(client: Client):
    body = b'{"event": {"kind": "deadline_missed"}}'
    signed = signature_header(DEMO_WEBHOOK_SECRET, int(time.time()), body)
    wrong = signature_header("another-secret-of-16+", int(time.time()), body)
    url = "/demo/webhook-receiver/"
    ok = client.post(url, body, content_type="application/json", HTTP_DISCLOSURE_SIGNATURE=signed)
    assert ok.status_code == 204
    bad = client.post(url, body, content_type="application/json", HTTP_DISCLOSURE_SIGNATURE=wrong)
    assert bad.status_code == 401
    assert client.post(url, body, content_type="application/json").status_code == 401
    assert client.get(url).status_code == 405


def test_demo_site_names_the_loopback_host(settings):
    settings.DISCLOSURE_SITE_URL = "http://127.0.0.1:8000/"
    assert demo_site() == "http://localhost:8000"
    settings.DISCLOSURE_SITE_URL = "https://disclosure.example"
    assert demo_site() == "https://disclosure.example"


@pytest.mark.django_db
def test_seed_points_two_cases_at_the_demo_assets_and_pauses_the_rest(demo_settings):
    demo_settings.DISCLOSURE_SITE_URL = "http://127.0.0.1:8000"
    seed()
    schedules = {s.case.title: s for s in ProbeSchedule.objects.select_related("case")}
    assert schedules[S3].url == "http://localhost:8000/demo/assets/contoso-db-backups-eu/"
    assert schedules[SILENT].url == "http://localhost:8000/demo/assets/fabrikamhr-exports/"
    assert not schedules[S3].paused and not schedules[SILENT].paused
    assert all(s.paused for title, s in schedules.items() if title not in (S3, SILENT))
    subscription = WebhookSubscription.objects.get(name="Demo receiver")
    assert subscription.url == "http://localhost:8000/demo/webhook-receiver/"
    assert subscription.internal and subscription.active
    assert subscription.secret == DEMO_WEBHOOK_SECRET
    events = CaseEvent.objects.count()
    seed()  # a rerun changes nothing
    assert CaseEvent.objects.count() == events
    assert WebhookSubscription.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_run_watchers_beside_the_server_shows_deadlines_probes_and_webhooks(
    demo_settings, live_server
):
    demo_settings.DISCLOSURE_SITE_URL = live_server.url
    demo_settings.ROOT_URLCONF = "tests.demo.demo_urls"
    seed()
    out = io.StringIO()
    call_command("run_watchers", stdout=out)

    silent = Case.objects.get(title=SILENT)
    kinds = list(silent.events.values_list("kind", flat=True))
    assert kinds.count(EventKind.DEADLINE_MISSED) == 2  # acknowledge and secure
    assert kinds.count(EventKind.VENDOR_UNRESPONSIVE) == 1
    s3 = ProbeSchedule.objects.get(case__title=S3)
    assert s3.status == "not_public"
    assert s3.case.events.filter(kind=EventKind.PROBE_STATUS_CHANGED).count() == 1
    assert ProbeSchedule.objects.get(case__title=SILENT).status == "public"
    sent = WebhookDelivery.objects.filter(status="sent")
    assert sent.filter(event_kind=EventKind.DEADLINE_MISSED).count() == 2
    assert sent.filter(response_status=204).exists()
    assert "deadlines:" in out.getvalue() and "re-probes: 2 probed" in out.getvalue()

    again = io.StringIO()
    call_command("run_watchers", stdout=again)  # nothing is recorded twice
    assert list(silent.events.values_list("kind", flat=True)) == kinds


@pytest.mark.django_db
def test_without_the_local_network_the_demo_is_seeded_without_its_endpoints(demo_settings):
    demo_settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = []
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "The demo's re-probes and webhook receiver are left out" in out.getvalue()
    assert Case.objects.filter(title=SILENT).exists()
    assert not WebhookSubscription.objects.exists()
    # A probe URL is checked without DNS when saved; its fetch is refused later.
    assert ProbeSchedule.objects.filter(url__contains="/demo/assets/").count() == 2
