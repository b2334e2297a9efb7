"""Re-probe runs against a real HTTP server on 127.0.0.1 (allowed by the test
setting): public, then 403, then public again; evidence, events, the
secured offer, the re-exposure alarm, pause and interval, and the
refusals with the setting off."""

import json
import socket
from datetime import timedelta

import pytest
from django.core.management import call_command

from disclosure.cases.stages import Stage
from disclosure.comms.models import Notice
from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.guarded_http import FetchRefused
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.storage import open_blob
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_cases
from disclosure.probes import services
from disclosure.probes.models import ProbeResult, ProbeSchedule, Verdict
from disclosure.probes.runs import claim_due, ensure_schedules, probe_now, run_due_probes
from disclosure.probes.tasks import run_due_probes_task
from tests.localhttp import Answer, fake_resolver
from tests.probes.conftest import DENIED, LISTING, asset_case, later

pytestmark = pytest.mark.django_db


def events(case, kind):
    return list(CaseEvent.objects.filter(case=case, kind=kind).order_by("seq"))


def results(case):
    return list(ProbeResult.objects.filter(case=case).order_by("probed_at", "pk"))


def run_after(hours: float):
    return run_due_probes(at=later(hours))


def test_public_then_403_then_public_again(loopback_allowed, asset, notified_case, analyst, lead):
    case = notified_case
    # 1. Public.
    report = run_due_probes()
    assert (report.probed, report.public, report.not_public, report.errors) == (1, 1, 0, 0)
    first = results(case)[0]
    assert first.verdict == Verdict.PUBLIC
    assert first.http_status == 200
    assert first.address == "127.0.0.1"
    assert first.port == asset.port
    assert first.url == asset.url("/container?restype=container&comp=list")
    assert first.sample_sha256 == sha256_hex(LISTING)
    assert first.sample_bytes == len(LISTING)
    assert ["Content-Type", "application/xml"] in first.headers
    assert ["x-ms-request-id", "r-1"] in first.headers
    assert asset.requests[0].path == "/container?restype=container&comp=list"
    assert "Authorization" not in asset.requests[0].headers
    assert "Cookie" not in asset.requests[0].headers
    # ... kept as evidence: an internal JSON capture, hashed, in the ledger.
    evidence = first.evidence
    assert evidence.kind == "exposure_capture"
    assert evidence.internal is True
    with open_blob(evidence.sha256) as blob:
        content = blob.read()
    assert sha256_hex(content) == evidence.sha256
    capture = json.loads(content)
    assert capture["status"] == 200
    assert capture["address"] == "127.0.0.1"
    assert capture["body_sample_sha256"] == sha256_hex(LISTING)
    assert capture["verdict"] == "public"
    assert capture["case"] == case.reference
    attached = CaseEvent.objects.get(
        case=case, kind=EventKind.EVIDENCE_ATTACHED, payload__sha256=evidence.sha256
    )
    assert attached.internal is True
    changed = events(case, EventKind.PROBE_STATUS_CHANGED)
    assert [(e.payload["from"], e.payload["to"]) for e in changed] == [(None, "public")]
    assert changed[0].internal is True
    assert changed[0].payload["evidence_sha256"] == evidence.sha256
    assert changed[0].actor_snapshot["role"] == "system"

    # Not due again before its interval (6 h by default).
    assert run_after(5).probed == 0

    # 2. 403: no longer public; staff are offered 'secured'.
    asset.answers["/container"] = Answer(403, DENIED)
    report = run_after(6)
    assert (report.probed, report.not_public) == (1, 1)
    second = results(case)[1]
    assert (second.verdict, second.http_status) == (Verdict.NOT_PUBLIC, 403)
    assert second.evidence.kind == "retest_result"
    changed = events(case, EventKind.PROBE_STATUS_CHANGED)
    assert [(e.payload["from"], e.payload["to"]) for e in changed] == [
        (None, "public"),
        ("public", "not_public"),
    ]
    told = Notice.objects.get(user=lead, subject=f"[{case.reference}] Asset no longer public")
    assert "Record" not in told.subject and "record 'secured'" in told.body
    schedule = ProbeSchedule.objects.get(case=case)
    assert schedule.status == Verdict.NOT_PUBLIC

    # A second 403 changes no status.
    run_after(12)
    assert len(events(case, EventKind.PROBE_STATUS_CHANGED)) == 2

    # Staff record 'secured' with that capture as the re-test.
    services.record_secured_from_probe(actor=analyst, case=case, result=second)
    case.refresh_from_db()
    assert case.stage == Stage.SECURED
    assert case.secured_at == second.probed_at
    secured = CaseEvent.objects.get(
        case=case, kind=EventKind.STAGE_CHANGED, payload__milestone="secured"
    )
    assert secured.payload["basis"] == "retest"
    assert second.evidence.sha256 in secured.payload["retest_result"]
    assert "HTTP 403" in secured.payload["retest_result"]
    report_file = EvidenceFile.objects.get(case=case, sha256=secured.payload["evidence"][0])
    assert report_file.kind == "retest_result"
    with open_blob(report_file.sha256) as blob:
        wrapped = json.loads(blob.read())
    assert wrapped["capture_evidence_sha256"] == second.evidence.sha256
    assert wrapped["capture"]["status"] == 403
    assert events(case, EventKind.REEXPOSURE_DETECTED) == []

    # 3. Public again after 'secured': the alarm, once, with mail to staff.
    asset.answers["/container"] = Answer(200, LISTING)
    run_after(18)
    third = results(case)[-1]
    assert third.verdict == Verdict.PUBLIC
    alarms = events(case, EventKind.REEXPOSURE_DETECTED)
    assert len(alarms) == 1
    assert alarms[0].internal is True
    assert alarms[0].payload["result_id"] == third.pk
    assert alarms[0].payload["evidence_sha256"] == third.evidence.sha256
    assert Notice.objects.filter(
        user=lead, subject=f"[{case.reference}] Re-exposure detected"
    ).exists()
    schedule.refresh_from_db()
    assert schedule.reexposure_result_id == third.pk
    run_after(24)  # still public: no second alarm
    assert len(events(case, EventKind.REEXPOSURE_DETECTED)) == 1

    # The follow-up case, linked, with the capture as its exposure evidence.
    follow_up = services.open_follow_up_from_probe(actor=analyst, case=case, result=third)
    assert follow_up.follows_up_id == case.pk
    assert follow_up.found_at == third.probed_at
    assert EvidenceFile.objects.get(case=follow_up).sha256 == third.evidence.sha256
    assert events(case, EventKind.FOLLOW_UP_OPENED)[0].payload["follow_up"] == follow_up.reference
    schedule.refresh_from_db()
    assert (schedule.reexposure_result_id, schedule.follow_up_id) == (None, follow_up.pk)
    assert ProbeSchedule.objects.filter(case=follow_up).exists()
    reports = list(verify_cases([case.reference, follow_up.reference], deep=True))
    assert [(r.reference, r.problems) for r in reports] == sorted(
        [(case.reference, []), (follow_up.reference, [])]
    )


def test_secured_offer_needs_a_not_public_capture_of_this_case(
    loopback_allowed, asset, notified_case, analyst
):
    run_due_probes()
    public = results(notified_case)[0]
    with pytest.raises(ValidationFailed) as caught:
        services.record_secured_from_probe(actor=analyst, case=notified_case, result=public)
    assert caught.value.field == "result"
    notified_case.refresh_from_db()
    assert notified_case.secured_at is None


def test_follow_up_needs_a_public_capture(loopback_allowed, asset, notified_case, analyst):
    asset.answers["/container"] = Answer(403, DENIED)
    run_due_probes()
    denied = results(notified_case)[0]
    with pytest.raises(ValidationFailed):
        services.open_follow_up_from_probe(actor=analyst, case=notified_case, result=denied)


def test_public_already_when_secured_is_a_reexposure(
    loopback_allowed, asset, notified_case, analyst
):
    """The vendor says 'secured' but the asset still answers: the alarm."""
    from disclosure.cases import services as case_services

    case_services.secure(
        actor=analyst, case=notified_case, occurred_at=now(), retest_result="vendor says so"
    )
    run_due_probes()
    assert len(events(notified_case, EventKind.REEXPOSURE_DETECTED)) == 1


def test_paused_schedule_is_not_probed_and_resumes(loopback_allowed, asset, notified_case, analyst):
    services.update_schedule(
        actor=analyst, case=notified_case, paused=True, interval_hours=6, url=""
    )
    assert run_due_probes().probed == 0
    assert asset.requests == []
    changed = events(notified_case, EventKind.PROBE_SETTINGS_CHANGED)
    assert [e.payload for e in changed] == [
        {
            "from": {"paused": False, "interval_hours": 6, "url": ""},
            "to": {"paused": True, "interval_hours": 6, "url": ""},
        }
    ]
    assert changed[0].internal is True
    services.update_schedule(
        actor=analyst, case=notified_case, paused=False, interval_hours=6, url=""
    )
    assert run_due_probes().probed == 1


def test_interval_sets_the_next_run(loopback_allowed, asset, notified_case, analyst):
    services.update_schedule(
        actor=analyst, case=notified_case, paused=False, interval_hours=2, url=""
    )
    run_due_probes()
    schedule = ProbeSchedule.objects.get(case=notified_case)
    last = schedule.last_run_at
    assert schedule.next_run_at == last + timedelta(hours=2)
    assert run_after(1.5).probed == 0
    assert run_after(2).probed == 1
    # Lengthening it moves the next run from the last one.
    services.update_schedule(
        actor=analyst, case=notified_case, paused=False, interval_hours=48, url=""
    )
    schedule.refresh_from_db()
    assert schedule.next_run_at == schedule.last_run_at + timedelta(hours=48)


def test_unchanged_settings_write_nothing(loopback_allowed, notified_case, analyst):
    services.update_schedule(actor=analyst, case=notified_case, paused=False, interval_hours=6)
    assert events(notified_case, EventKind.PROBE_SETTINGS_CHANGED) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"interval_hours": 0}, "interval_hours"),
        ({"interval_hours": 721}, "interval_hours"),
        ({"url": "ftp://example.org/"}, "url"),
        ({"url": "http://169.254.169.254/latest/"}, "url"),
    ],
)
def test_bad_settings_are_refused(private_refused, notified_case, analyst, kwargs, field):
    args = {"paused": False, "interval_hours": 6, "url": "", **kwargs}
    with pytest.raises((ValidationFailed, FetchRefused)) as caught:
        services.update_schedule(actor=analyst, case=notified_case, **args)
    assert caught.value.field == field
    assert events(notified_case, EventKind.PROBE_SETTINGS_CHANGED) == []


def test_legal_and_vendor_may_not_change_settings(notified_case, legal, vendor_contact):
    for who in (legal, vendor_contact):
        with pytest.raises(NotPermitted):
            services.update_schedule(actor=who, case=notified_case, paused=True, interval_hours=6)


def test_probing_stops_some_days_after_secured(
    loopback_allowed, asset, notified_case, analyst, settings
):
    settings.DISCLOSURE_PROBE_AFTER_SECURED_DAYS = 2
    from disclosure.cases import services as case_services

    case_services.secure(
        actor=analyst,
        case=notified_case,
        occurred_at=now() - timedelta(days=1),
        retest_result="403",
    )
    assert run_due_probes().probed == 1  # one day after: still probed
    assert run_after(24 * 2).probed == 0  # three days after: not any more


def test_closed_unsecured_case_is_not_probed(loopback_allowed, asset, analyst, lead, vendor):
    from disclosure.cases import services as case_services

    case = asset_case(Stage.FOUND, analyst=analyst, vendor=vendor, identifier=asset.url("/c"))
    case_services.close_case(actor=lead, case=case, reason="invalid", occurred_at=now())
    assert run_due_probes().probed == 0


def test_two_runs_claim_disjoint_schedules(loopback_allowed, asset, analyst, vendor):
    for n in range(3):
        asset_case(Stage.FOUND, analyst=analyst, vendor=vendor, identifier=asset.url(f"/c{n}"))
    at = later()
    ensure_schedules(at)
    assert ProbeSchedule.objects.count() == 3
    first = claim_due(at, limit=2)
    second = claim_due(at)
    assert len(first) == 2 and len(second) == 1
    assert not {s.pk for s in first} & {s.pk for s in second}
    assert claim_due(at) == []


def test_a_run_may_be_limited_to_some_cases(loopback_allowed, asset, analyst, vendor):
    one, two = (
        asset_case(Stage.FOUND, analyst=analyst, vendor=vendor, identifier=asset.url(f"/c{n}"))
        for n in range(2)
    )
    assert run_due_probes(case_ids=[two.pk]).probed == 1
    assert results(one) == [] and len(results(two)) == 1
    assert not ProbeSchedule.objects.filter(case=one).exists()


def test_errors_are_kept_without_changing_status(loopback_allowed, asset, notified_case):
    asset.answers["/container"] = Answer(500, b"oops")
    report = run_due_probes()
    assert (report.probed, report.errors) == (1, 1)
    result = results(notified_case)[0]
    assert (result.verdict, result.http_status, result.evidence) == (Verdict.ERROR, 500, None)
    assert result.error == "Unexpected answer: HTTP 500"
    assert events(notified_case, EventKind.PROBE_STATUS_CHANGED) == []
    assert ProbeSchedule.objects.get(case=notified_case).status == ""


def test_asset_without_http_probe_is_an_error(loopback_allowed, analyst, vendor):
    case = asset_case(
        Stage.FOUND, analyst=analyst, vendor=vendor, identifier="db.example.org:5432",
        kind="database", provider="self_hosted",
    )  # fmt: skip
    run_due_probes()
    result = results(case)[0]
    assert result.verdict == Verdict.ERROR
    assert "set a probe URL" in result.error


# --- refusals with the setting off ----------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/container",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9200/_cat/indices",
        "http://127.0.0.1:9/",
    ],
)
def test_forbidden_addresses_are_refused(private_refused, analyst, vendor, monkeypatch, url):
    def no_connect(*args, **kwargs):
        raise AssertionError("no connection may be opened")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    case = asset_case(Stage.FOUND, analyst=analyst, vendor=vendor, identifier=url, kind="api")
    report = run_due_probes()
    assert (report.probed, report.errors) == (1, 1)
    result = results(case)[0]
    assert result.verdict == Verdict.ERROR
    assert result.error.startswith("Refused: ")
    assert (result.address, result.http_status, result.evidence) == ("", None, None)


def test_name_resolving_to_loopback_is_refused(
    private_refused, asset, analyst, vendor, monkeypatch
):
    monkeypatch.setattr(
        socket, "getaddrinfo", fake_resolver({"leaky.example": ["127.0.0.1"]}, socket.getaddrinfo)
    )
    case = asset_case(
        Stage.FOUND,
        analyst=analyst,
        vendor=vendor,
        identifier=f"http://leaky.example:{asset.port}/container",
        kind="api",
    )
    run_due_probes()
    result = results(case)[0]
    assert result.verdict == Verdict.ERROR
    assert "leaky.example" in result.error and "127.0.0.1" in result.error
    assert asset.requests == []


@pytest.mark.parametrize(
    "target",
    ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
     "http://leaky.example/"],
)  # fmt: skip
def test_redirect_to_a_forbidden_address_is_refused(
    settings, asset, analyst, vendor, monkeypatch, target
):
    """The asset's own address (127.0.0.1 alone) is allowed; where it
    redirects is checked again, with private addresses refused."""
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    monkeypatch.setattr(
        socket, "getaddrinfo", fake_resolver({"leaky.example": ["127.0.0.1"]}, socket.getaddrinfo)
    )
    # leaky.example -> 127.0.0.1 is allowed here; make it resolve to 10.0.0.1 instead.
    if target == "http://leaky.example/":
        monkeypatch.setattr(
            socket,
            "getaddrinfo",
            fake_resolver({"leaky.example": ["10.0.0.1"]}, socket.getaddrinfo),
        )
    asset.answers["/moved"] = Answer(302, b"", {"Location": target})
    case = asset_case(
        Stage.FOUND, analyst=analyst, vendor=vendor, identifier=asset.url("/moved"), kind="api"
    )
    run_due_probes()
    result = results(case)[0]
    assert result.verdict == Verdict.ERROR
    assert result.error.startswith("Refused: ")
    assert [r.path for r in asset.requests] == ["/moved"]


# --- interfaces without a browser -----------------------------------------------


def test_probe_now_records_a_result_asked_by_staff(loopback_allowed, asset, notified_case, analyst):
    result = probe_now(actor=analyst, case=notified_case)
    assert result.verdict == Verdict.PUBLIC
    assert result.requested_by == analyst


def test_probe_now_refused_to_legal(loopback_allowed, asset, notified_case, legal):
    with pytest.raises(NotPermitted):
        probe_now(actor=legal, case=notified_case)
    assert asset.requests == []


def test_command_and_task(loopback_allowed, asset, notified_case, capsys):
    call_command("run_probes")
    assert "1 case(s) probed: 1 public, 0 no longer public, 0 error(s)" in capsys.readouterr().out
    ProbeSchedule.objects.update(next_run_at=now() - timedelta(seconds=1))
    outcome = run_due_probes_task.delay().get()
    assert outcome == {"probed": 1, "public": 1, "not_public": 0, "errors": 0, "skipped": []}


def test_beat_runs_the_task(settings):
    entries = [e for e in settings.CELERY_BEAT_SCHEDULE.values() if "probes" in e["task"]]
    assert entries == [{"task": "disclosure.probes.tasks.run_due_probes", "schedule": 300}]
