"""Retention (issue 18, part 3): the content of a closed case's evidence is
purged once its retention period is over, unless the case is on legal hold;
the hash, size, name and a purge event stay, and exports say so."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.urls import reverse
from rest_framework.test import APIClient

from disclosure.cases import services
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.evidence import retention
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.rotation import check_all
from disclosure.evidence.storage import blob_name, evidence_storage
from disclosure.evidence.sweep import sweep_orphan_blobs
from disclosure.evidence.tasks import purge_expired_evidence_task
from disclosure.exports import bundle as bundle_module
from disclosure.exports.document import Clock, body_context
from disclosure.ledger.models import CaseEvent, EventKind
from disclosure.ledger.verify import verify_case
from tests.factories import capture, make_case

pytestmark = pytest.mark.django_db

CONTENT = b"listing of the exposed container\n"
SHA = "72e51fad527f49e33c380509a5c5ae8ec778cf3c27140bcc8ea8aa5bf524861e"
START = now() - timedelta(days=500)
# make_case closes a case five hours after START.
CLOSED = START + timedelta(hours=5)


@pytest.fixture(autouse=True)
def _retention(settings, db):
    from disclosure.cases.policies import ensure_default_policies

    ensure_default_policies()  # (idempotent; also when run --nomigrations)
    settings.DISCLOSURE_RETENTION_DAYS = 365


def closed_case(analyst, lead, vendor, start=START, **kwargs):
    return make_case(Stage.CLOSED, actor=analyst, vendor=vendor, lead=lead, start=start, **kwargs)


def stored(sha256: str) -> bool:
    return evidence_storage().exists(blob_name(sha256))


def age_blobs() -> None:
    """Date every stored blob two hours back (an upload whose transaction
    is over): the purge deletes blobs renewed within the sweep's hour only
    through the sweep."""
    import os

    storage = evidence_storage()
    old = (now() - timedelta(hours=2)).timestamp()
    for root, _, files in os.walk(storage.location):
        for name in files:
            os.utime(os.path.join(root, name), (old, old))


def test_a_closed_case_past_its_period_is_purged_and_its_record_kept(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    assert case.closed_at == CLOSED
    age_blobs()
    result = retention.purge_expired()
    assert result.cases == [case.reference]
    assert (result.files, result.bytes) == (1, len(CONTENT))
    assert result.blobs_deleted == [SHA]
    assert not stored(SHA)
    f = EvidenceFile.objects.get(case=case)
    assert f.purged_at is not None
    assert (f.sha256, f.size, f.original_name) == (SHA, len(CONTENT), "capture.txt")
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == EventKind.EVIDENCE_PURGED
    assert event.internal is True
    assert event.actor_id is None
    assert event.payload["files"] == [
        {"evidence_id": f.pk, "sha256": SHA, "size": len(CONTENT), "name": "capture.txt"}
    ]
    assert event.payload["retention_days"] == 365


def test_the_period_runs_from_closing(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    due = CLOSED + timedelta(days=365)
    assert retention.purge_due_at(case) == due
    assert retention.purge_expired(at=due - timedelta(seconds=1)).cases == []
    assert retention.purge_expired(at=due).cases == [case.reference]


def test_one_event_per_case_lists_every_file(analyst, lead, vendor):
    case = closed_case(
        analyst, lead, vendor, exposure_evidence=[capture(b"one"), capture(b"two", name="b.txt")]
    )
    retention.purge_expired()
    events = CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_PURGED)
    assert events.count() == 1
    assert [f["name"] for f in events.get().payload["files"]] == ["capture.txt", "b.txt"]


def test_a_case_on_legal_hold_is_kept(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation")
    case.refresh_from_db()
    assert retention.purge_due_at(case) is None
    assert retention.purge_expired().cases == []
    assert stored(SHA)
    assert EvidenceFile.objects.get(case=case).purged_at is None


def test_an_open_case_is_kept_however_old(analyst, vendor):
    case = make_case(Stage.PUBLISHED, actor=analyst, vendor=vendor, start=START)
    assert retention.purge_expired(at=now() + timedelta(days=3650)).cases == []
    assert EvidenceFile.objects.get(case=case).purged_at is None
    assert stored(SHA)


def test_a_longer_period_for_the_case_keeps_it(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    retention.set_retention(actor=lead, case=case, days=1000, reason="Regulator asked")
    assert retention.purge_expired().cases == []
    assert retention.purge_expired(at=CLOSED + timedelta(days=1000)).cases == [case.reference]


def test_a_shorter_period_for_the_case_purges_it_earlier(analyst, lead, vendor):
    recent = now() - timedelta(days=20)
    case = closed_case(analyst, lead, vendor, start=recent)
    assert retention.purge_expired().cases == []
    retention.set_retention(actor=lead, case=case, days=10, reason="Nothing to keep")
    assert retention.purge_expired().cases == [case.reference]


def test_setting_the_period_is_a_ledger_event(analyst, lead, admin_user, vendor):
    case = closed_case(analyst, lead, vendor)
    retention.set_retention(actor=lead, case=case, days=30, reason="  Short  ")
    retention.set_retention(actor=admin_user, case=case, days=None, reason="Back to default")
    case.refresh_from_db()
    assert case.retention_days is None
    events = CaseEvent.objects.filter(case=case, kind=EventKind.RETENTION_CHANGED).order_by("seq")
    assert [(e.payload["from"], e.payload["to"], e.payload["reason"]) for e in events] == [
        (None, 30, "Short"),
        (30, None, "Back to default"),
    ]
    assert verify_case(case).ok


def test_only_leads_and_admins_set_the_period(
    analyst, legal, lead, vendor, vendor_contact, other_vendor_contact
):
    case = closed_case(analyst, lead, vendor)
    for user in (analyst, legal, vendor_contact):
        with pytest.raises(NotPermitted):
            retention.set_retention(actor=user, case=case, days=5, reason="r")
    with pytest.raises(NotFound):
        retention.set_retention(actor=other_vendor_contact, case=case, days=5, reason="r")
    case.refresh_from_db()
    assert case.retention_days is None


@pytest.mark.parametrize("days", [-1, 36_501, "30", 1.5, True])
def test_the_period_must_be_a_whole_number_of_days(analyst, lead, vendor, days):
    case = closed_case(analyst, lead, vendor)
    with pytest.raises(ValidationFailed) as exc:
        retention.set_retention(actor=lead, case=case, days=days, reason="r")
    assert exc.value.field == "days"


def test_a_reason_and_a_change_are_required(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    with pytest.raises(ValidationFailed) as exc:
        retention.set_retention(actor=lead, case=case, days=5, reason=" ")
    assert exc.value.field == "reason"
    with pytest.raises(ValidationFailed) as exc:
        retention.set_retention(actor=lead, case=case, days=None, reason="same")
    assert exc.value.field == "days"


def test_a_blob_another_case_still_needs_is_kept(analyst, lead, vendor):
    old = closed_case(analyst, lead, vendor)
    newer = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)  # the same capture
    assert newer.evidence.get().sha256 == SHA
    age_blobs()
    result = retention.purge_expired()
    assert result.cases == [old.reference]
    assert result.blobs_deleted == []
    assert result.blobs_kept == [SHA]
    assert stored(SHA)
    # Once the other file is purged too, the blob goes.
    services_close(newer, analyst, lead)
    age_blobs()
    result = retention.purge_expired(at=now() + timedelta(days=366))
    assert result.cases == [newer.reference]
    assert result.blobs_deleted == [SHA]
    assert not stored(SHA)


def services_close(case, analyst, lead):
    from tests.factories import advance

    at = now() - timedelta(minutes=30)
    advance(case, Stage.SECURED, actor=analyst, at=at)
    advance(case, Stage.CLOSED, actor=lead, at=at + timedelta(minutes=1))


def test_a_blob_renewed_within_the_hour_is_left_to_the_sweep(analyst, lead, vendor):
    closed_case(analyst, lead, vendor)  # its blob was just written
    result = retention.purge_expired()
    assert result.blobs_kept == [SHA]
    assert stored(SHA)
    # Nothing needs it any more: the sweep removes it once it is old enough.
    assert sweep_orphan_blobs(older_than=now() + timedelta(seconds=1)).deleted == [SHA]
    assert not stored(SHA)


def test_a_crash_after_commit_leaves_an_orphan_the_sweep_removes(
    analyst, lead, vendor, monkeypatch
):
    closed_case(analyst, lead, vendor)
    age_blobs()
    monkeypatch.setattr(retention, "_delete_unneeded", lambda hashes, result: None)
    assert retention.purge_expired().files == 1
    assert stored(SHA)  # the process "died" before deleting
    assert sweep_orphan_blobs().deleted == [SHA]
    assert not stored(SHA)


def test_a_rerun_purges_nothing_twice(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    age_blobs()
    assert retention.purge_expired().files == 1
    again = retention.purge_expired()
    assert (again.cases, again.files, again.blobs_deleted) == ([], 0, [])
    assert CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_PURGED).count() == 1


def test_the_task_and_the_command_report_what_they_did(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    age_blobs()
    assert purge_expired_evidence_task() == {
        "cases": [case.reference],
        "files": 1,
        "bytes": len(CONTENT),
        "blobs_deleted": 1,
        "blobs_kept": 0,
        "skipped": [],
    }
    out = StringIO()
    call_command("purge_evidence", stdout=out)
    assert out.getvalue().splitlines()[-1].startswith("0 case(s), 0 file(s), 0 bytes purged")


def test_the_command_purges_at_a_given_time(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor, start=now() - timedelta(days=3))
    out = StringIO()
    at = (now() + timedelta(days=400)).isoformat()
    call_command("purge_evidence", "--at", at, stdout=out)
    assert f"{case.reference}: evidence content purged" in out.getvalue()


def test_verify_ledger_stays_clean_after_a_purge(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    age_blobs()
    retention.purge_expired()
    assert verify_case(case).ok
    assert verify_case(case, deep=True).ok
    out = StringIO()
    call_command("verify_ledger", "--deep", case.reference, stdout=out)
    assert "broken" not in out.getvalue().lower()


def test_the_integrity_check_does_not_alarm_on_purged_files(analyst, lead, vendor):
    closed_case(analyst, lead, vendor)
    age_blobs()
    retention.purge_expired()
    result = check_all()
    assert (result.blobs, result.failed) == (0, [])


def staff_get(client, user, case, evidence):
    client.force_login(user)
    return client.get(f"/cases/{case.reference}/evidence/{evidence.pk}/", follow=True)


def portal_get(client, user, case, evidence):
    client.force_login(user)
    return client.get(
        reverse("portal:evidence_download", args=[case.reference, evidence.pk]), follow=True
    )


def test_downloading_a_purged_file_says_so(client, analyst, lead, vendor, vendor_contact):
    case = closed_case(analyst, lead, vendor)
    retention.purge_expired()
    evidence = EvidenceFile.objects.get(case=case)
    day = f"{evidence.purged_at:%Y-%m-%d}"
    expected = f"The content of capture.txt was purged on {day} under the retention rule"
    before = case.evidence.count()

    staff = staff_get(client, analyst, case, evidence)
    assert staff.status_code == 200
    assert expected in staff.content.decode()
    assert "Content-Disposition" not in staff

    portal = portal_get(client, vendor_contact, case, evidence)
    assert portal.status_code == 200
    assert expected in portal.content.decode()

    api = APIClient()
    api.force_authenticate(analyst)
    response = api.get(f"/api/v1/cases/{case.reference}/evidence/{evidence.pk}/download/")
    assert response.status_code == 410
    assert response.json()["code"] == "evidence_purged"
    assert expected in response.json()["message"]
    # Nothing was logged as downloaded.
    assert not CaseEvent.objects.filter(case=case, kind=EventKind.EVIDENCE_DOWNLOADED).exists()
    assert case.evidence.count() == before


def test_a_purged_file_of_a_case_one_may_not_see_is_still_404(
    client, analyst, lead, vendor, other_vendor_contact
):
    case = closed_case(analyst, lead, vendor)
    retention.purge_expired()
    evidence = EvidenceFile.objects.get(case=case)
    client.force_login(other_vendor_contact)
    response = client.get(reverse("portal:evidence_download", args=[case.reference, evidence.pk]))
    assert response.status_code == 404
    api = APIClient()
    api.force_authenticate(other_vendor_contact)
    response = api.get(f"/api/v1/cases/{case.reference}/evidence/{evidence.pk}/download/")
    assert response.status_code == 404


@pytest.mark.parametrize("variant", ["full", "vendor"])
def test_the_export_says_the_file_was_purged(analyst, lead, vendor, variant):
    case = closed_case(analyst, lead, vendor)
    retention.purge_expired()
    case.refresh_from_db()
    evidence = EvidenceFile.objects.get(case=case)
    bundle = bundle_module.build_bundle(
        case=case, variant=variant, communications="full", generated_at=now(), checkpoint=None
    )
    (record,) = bundle["records"]["evidence"]
    assert record["sha256"] == SHA
    assert record["purged_at"] == f"{evidence.purged_at:%Y-%m-%dT%H:%M:%S.%f}Z"
    html = render_to_string(
        "exports/_evidence.html",
        {"body": body_context(bundle, Clock(None)), "full": variant == "full"},
    )
    assert "content purged on " + f"{evidence.purged_at:%Y-%m-%d %H:%M}" in html
    assert SHA in html


def test_an_unpurged_file_is_not_said_purged_in_the_export(analyst, lead, vendor):
    case = closed_case(analyst, lead, vendor)
    bundle = bundle_module.build_bundle(
        case=case, variant="full", communications="full", generated_at=now(), checkpoint=None
    )
    assert bundle["records"]["evidence"][0]["purged_at"] is None
    html = render_to_string(
        "exports/_evidence.html", {"body": body_context(bundle, Clock(None)), "full": True}
    )
    assert "purged" not in html
