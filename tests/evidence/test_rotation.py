"""The routine check re-hashes every stored evidence file once a pass, one
hourly slice at a time (issue 15, finding 8)."""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core import mail

from disclosure.cases.stages import Stage
from disclosure.evidence import rotation
from disclosure.evidence.models import IntegrityAlarm
from disclosure.evidence.services import attach_evidence
from disclosure.evidence.tasks import check_stored_evidence_task
from disclosure.ledger.verify import verify_case
from tests.evidence.test_integrity import FORGED, FORGED_SHA, SHA, overwrite
from tests.factories import capture, make_case
from tests.ledger.tampering import run_command

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def test_slices_split_the_sha256_space_evenly():
    assert rotation.slice_bounds(0, 4) == ("00000000", "40000000")
    assert rotation.slice_bounds(1, 4) == ("40000000", "80000000")
    assert rotation.slice_bounds(3, 4) == ("c0000000", None)
    assert rotation.slice_bounds(0, 1) == ("00000000", None)
    with pytest.raises(ValueError):
        rotation.slice_bounds(4, 4)


def test_the_hour_names_the_slice():
    # 2026-12-03 06:00 UTC is hour 498,966 since the epoch; 498,966 % 168 = 6.
    at = datetime(2026, 12, 3, 6, 59, tzinfo=UTC)
    assert rotation.slice_of(at, 168) == 6
    assert rotation.slice_of(datetime(2026, 12, 3, 7, 0, tzinfo=UTC), 168) == 7


def test_a_pass_checks_every_blob_exactly_once(analyst, case):
    for i in range(20):
        attach_evidence(actor=analyst, case=case, file=capture(f"file {i}".encode(), kind="other"))
    checked = []
    for index in range(7):
        result = rotation.check_slice(index, 7)
        checked.append(result.blobs)
    assert sum(checked) == 21 == case.evidence.count()


def test_the_check_alarms_a_tampered_blob_and_closes_the_alarm_once_restored(
    case, lead, django_capture_on_commit_callbacks
):
    overwrite(SHA, FORGED)

    with django_capture_on_commit_callbacks(execute=True):
        result = rotation.check_all()

    assert (result.blobs, result.failed, result.restored) == (1, [SHA], 0)
    event = case.events.order_by("-seq").first()
    assert (event.kind, event.internal, event.actor_id, event.payload) == (
        "evidence_integrity_failed",
        True,
        None,
        {
            "evidence_id": case.evidence.get().pk,
            "sha256": SHA,
            "found_sha256": FORGED_SHA,
            "detected_by": "check",
        },
    )
    assert [m.to for m in mail.outbox] == [[lead.email]]
    # Checked again while still broken: no second alarm, no second mail.
    with django_capture_on_commit_callbacks(execute=True):
        assert rotation.check_all().failed == [SHA]
    assert IntegrityAlarm.objects.count() == 1 and len(mail.outbox) == 1

    overwrite(SHA, b"listing of the exposed container\n")  # restored from a copy
    result = rotation.check_all()

    assert (result.failed, result.restored) == ([], 1)
    event = case.events.order_by("-seq").first()
    assert (event.kind, event.payload) == (
        "evidence_integrity_restored",
        {"evidence_id": case.evidence.get().pk, "sha256": SHA, "detected_by": "check"},
    )
    assert IntegrityAlarm.objects.get().resolved_at is not None
    assert verify_case(case).ok


def test_the_hourly_task_checks_the_current_slice(case, settings):
    settings.EVIDENCE_CHECK_PASS_HOURS = 1  # one slice: everything, every hour
    overwrite(SHA, FORGED)

    result = check_stored_evidence_task()

    assert result == {
        "slice": 0,
        "slices": 1,
        "blobs": 1,
        "bytes": 33,
        "failed": [SHA],
        "restored": 0,
    }


def test_beat_runs_the_check_every_hour():
    entry = settings.CELERY_BEAT_SCHEDULE["check-stored-evidence-hourly"]
    assert entry == {
        "task": "disclosure.evidence.tasks.check_stored_evidence",
        "schedule": 3600,
    }
    assert check_stored_evidence_task.name == entry["task"]
    assert settings.EVIDENCE_CHECK_PASS_HOURS == 168


def test_the_command_checks_everything_and_fails_on_a_mismatch(case):
    code, output = run_command("verify_evidence", "--all")
    assert (code, output) == (
        0,
        "slice 1 of 1: 1 file(s), 33 bytes checked, 0 failed, 0 alarm(s) closed\n",
    )
    overwrite(SHA, FORGED)

    code, output = run_command("verify_evidence", "--all")

    assert code == 1
    assert f"{SHA}: does not match its stored bytes" in output
    assert "slice 1 of 1: 1 file(s), 33 bytes checked, 1 failed, 0 alarm(s) closed" in output
