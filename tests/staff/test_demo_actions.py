"""On the demo data, staff work every case from the browser: every action the
table gives each role opens its form, and a new case goes through every
stage to closed, with evidence at each step, through the action views alone."""

import io
import re

import pytest
from django.core.management import call_command

from disclosure.accounts.models import User
from disclosure.cases import access
from disclosure.cases.models import Case
from disclosure.ledger.models import CaseEvent

from .action_helpers import SHA, action_url, ago, upload

pytestmark = pytest.mark.django_db

STAFF = ["demo-analyst", "demo-lead", "demo-legal", "demo-admin"]


@pytest.fixture
def demo(settings):
    settings.DEBUG = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("seed_demo", stdout=io.StringIO())


def test_every_offered_action_opens_its_form_on_every_demo_case(client, demo):
    opened = 0
    for username in STAFF:
        user = User.objects.get(username=username)
        client.force_login(user)
        for case in Case.objects.all():
            offered = {t.action for t in access.available_actions(user, case)}
            page = client.get(case.get_absolute_url()).content.decode()
            linked = set(re.findall(rf"/cases/{case.reference}/actions/([a-z_]+)/", page))
            assert linked == offered, (username, case.reference)
            for action in offered:
                assert client.get(action_url(case, action)).status_code == 200
                opened += 1
    assert opened > 50


def test_an_analyst_and_a_lead_take_a_new_case_to_closed(client, demo):
    analyst = User.objects.get(username="demo-analyst")
    lead = User.objects.get(username="demo-lead")
    vendor = Case.objects.filter(vendor__name="Contoso").first().vendor
    client.force_login(analyst)

    def ok(response):
        assert response.status_code == 302, response.content.decode()[:3000]
        return response

    response = ok(
        client.post(
            "/cases/new/",
            {
                "vendor": vendor.pk,
                "title": "Open Elasticsearch index",
                "asset_provider": "aws",
                "asset_kind": "elasticsearch_index",
                "asset_identifier": "search.contoso.example:9200/customers",
                "how_found": "Shodan query",
                "time_zone": "Europe/Paris",
                "found_at": ago(days=6),
                "severity": "high",
                "tlp": "amber",
                "evidence_kind": "screenshot",
                "exposure_evidence": [upload(b"index listing", "index.png")],
            },
        )
    )
    case = Case.objects.get(title="Open Elasticsearch index")
    assert response["Location"] == case.get_absolute_url()

    def act(action, data):
        ok(client.post(action_url(case, action), data))
        case.refresh_from_db()

    act(
        "notify_vendor",
        {
            "occurred_at": ago(days=5),
            "channel": "email",
            "sender": "research@firm.example",
            "recipients": "security@contoso.example",
            "subject": "Exposed index",
            "body": "Your index is open.",
            "attachments": [upload(b"notice", "notice.txt")],
        },
    )
    act("acknowledge", {"occurred_at": ago(days=4)})
    act(
        "secure",
        {
            "occurred_at": ago(days=3),
            "retest_result": "Connection refused",
            "evidence": [upload(b"curl output", "curl.txt")],
        },
    )
    act(
        "record_deletion",
        {
            "items": f"copies/index.json, 2048, {SHA}",
            "method": "purge",
            "tool": "shred 9.1",
            "performed_by": analyst.pk,
            "performed_at": ago(days=2),
            "verified_by": lead.pk,
            "verification": "Checked the volume.",
            "evidence": [upload(b"shred log", "shred.log")],
            "confirm": "on",
        },
    )
    act(
        "publish",
        {
            "occurred_at": ago(days=1),
            "url": "https://firm.example/advisories/es",
            "title": "Open index",
            "confirm": "1",
        },
    )
    client.force_login(lead)
    act("close", {"reason": "published", "confirm": "1"})
    assert case.stage == "closed"
    stages = list(
        CaseEvent.objects.filter(case=case, kind="stage_changed").values_list(
            "payload__to", flat=True
        )
    )
    assert stages == ["vendor_notified", "secured", "data_deleted", "published", "closed"]
    assert sorted(case.evidence.values_list("kind", flat=True)) == [
        "attachment",
        "deletion_log",
        "retest_result",
        "screenshot",
    ]
