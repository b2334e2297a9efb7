"""A stored evidence file whose bytes no longer hash to its recorded SHA-256
is never served as that file (issue 15, finding 8): every download interface
refuses it with a clear error, an alarm is recorded in the case's ledger,
staff are e-mailed, and the case page and dashboard show the alarm."""

import hashlib

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.evidence.integrity import Mismatch, read_verified, record_failure
from disclosure.evidence.models import IntegrityAlarm
from disclosure.evidence.notifications import alarm_recipients
from disclosure.evidence.storage import evidence_storage
from disclosure.ledger.verify import verify_case
from tests.factories import make_case

pytestmark = pytest.mark.django_db

CONTENT = b"listing of the exposed container\n"
SHA = "72e51fad527f49e33c380509a5c5ae8ec778cf3c27140bcc8ea8aa5bf524861e"
FORGED = b"listing of the exposed container, edited\n"
FORGED_SHA = "df61e5590c61c8679283b40db5ba1340efc5d18087515881256793ea75ae4e8f"


@pytest.fixture
def case(analyst, lead, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


@pytest.fixture
def evidence(case):
    evidence = case.evidence.get()
    assert evidence.sha256 == SHA
    return evidence


def overwrite(sha256: str, content: bytes | None) -> None:
    """Change the stored blob behind the application's back (None deletes it)."""
    storage = evidence_storage()
    name = f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"
    if content is None:
        storage.delete(name)
        return
    path = storage.path(name)
    with open(path, "wb") as f:
        f.write(content)


@pytest.fixture
def mailed(django_capture_on_commit_callbacks):
    """Run what commits queue (the alarm's e-mail), as after a real commit."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_the_forged_content_hashes_as_written_here():
    assert hashlib.sha256(FORGED).hexdigest() == FORGED_SHA


def staff_get(client, user, case, evidence):
    client.force_login(user)
    return client.get(f"/cases/{case.reference}/evidence/{evidence.pk}/")


def portal_get(client, user, case, evidence):
    client.force_login(user)
    return client.get(reverse("portal:evidence_download", args=[case.reference, evidence.pk]))


def api_get(client, user, case, evidence):
    api = APIClient()
    api.force_authenticate(user)
    return api.get(f"/api/v1/cases/{case.reference}/evidence/{evidence.pk}/download/")


INTERFACES = [
    # (interface, who downloads, how)
    ("staff", "analyst", staff_get),
    ("portal", "vendor_contact", portal_get),
    ("api", "analyst", api_get),
    ("api", "vendor_contact", api_get),
]


def body(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.mark.parametrize(("via", "who", "get"), INTERFACES)
def test_intact_files_download_on_every_interface(via, who, get, request, client, case, evidence):
    response = get(client, request.getfixturevalue(who), case, evidence)
    assert response.status_code == 200
    assert body(response) == CONTENT
    assert case.events.order_by("-seq").first().payload == {
        "evidence_id": evidence.pk,
        "sha256": SHA,
        "via": via,
    }


@pytest.mark.parametrize(("via", "who", "get"), INTERFACES)
def test_a_tampered_file_is_refused_alarmed_and_staff_told(
    via, who, get, request, client, case, evidence, lead, admin_user, mailed
):
    downloader = request.getfixturevalue(who)
    overwrite(SHA, FORGED)
    last = case.events.order_by("-seq").first().seq

    with mailed():
        response = get(client, downloader, case, evidence)

    assert FORGED not in body(response)
    message = (
        "The stored copy of capture.txt no longer matches its SHA-256; it was not served. "
        "Staff have been alerted."
    )
    if via == "api":
        assert response.status_code == 409
        assert response.json()["code"] == "evidence_corrupt"
        assert response.json()["message"] == message
    else:
        assert response.status_code == 302
        page = client.get(response["Location"])
        assert message in page.content.decode()
    # The ledger has the alarm, and no download.
    events = list(case.events.filter(seq__gt=last).order_by("seq"))
    assert [(e.kind, e.internal, e.actor_id, e.payload) for e in events] == [
        (
            "evidence_integrity_failed",
            True,
            downloader.pk,
            {
                "evidence_id": evidence.pk,
                "sha256": SHA,
                "found_sha256": FORGED_SHA,
                "detected_by": f"download:{via}",
            },
        )
    ]
    assert verify_case(case).ok
    alarm = IntegrityAlarm.objects.get()
    assert (alarm.case_id, alarm.evidence_id, alarm.found_sha256, alarm.resolved_at) == (
        case.pk,
        evidence.pk,
        FORGED_SHA,
        None,
    )
    # Staff are e-mailed: every admin and lead (and the assignee, below).
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sorted(sent.to) == sorted([lead.email, admin_user.email])
    assert sent.subject == f"[{case.reference}] Evidence integrity alarm: capture.txt"
    assert f"recorded with SHA-256 {SHA}" in sent.body
    assert f"The stored bytes hash to {FORGED_SHA}." in sent.body


def test_the_assignee_is_told_too(case, evidence, analyst, lead):
    (alarm,) = record_failure(mismatch=Mismatch(SHA, None), detected_by="check")
    Case.objects.filter(pk=case.pk).update(assignee=analyst)
    alarm.refresh_from_db()

    assert alarm_recipients(alarm) == sorted([analyst.email, lead.email])


def test_a_second_refusal_raises_no_second_alarm(client, case, evidence, analyst, lead, mailed):
    overwrite(SHA, FORGED)
    with mailed():
        staff_get(client, analyst, case, evidence)
    events = case.events.count()

    with mailed():
        response = staff_get(client, analyst, case, evidence)

    assert response.status_code == 302
    assert case.events.count() == events
    assert IntegrityAlarm.objects.count() == 1
    assert len(mail.outbox) == 1


def test_a_missing_file_is_refused_and_alarmed(client, case, evidence, analyst, lead, mailed):
    overwrite(SHA, None)

    with mailed():
        response = staff_get(client, analyst, case, evidence)

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "The stored copy of capture.txt is missing from storage; it was not served." in page
    event = case.events.order_by("-seq").first()
    assert (event.kind, event.payload["found_sha256"]) == ("evidence_integrity_failed", None)
    assert "The file is missing from storage." in mail.outbox[0].body


def test_every_case_holding_the_blob_is_alarmed(analyst, vendor, other_vendor, case, evidence):
    other = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=other_vendor)
    assert other.evidence.get().sha256 == SHA  # the same capture, stored once

    alarms = record_failure(mismatch=Mismatch(SHA, FORGED_SHA), detected_by="check")

    assert sorted(a.case_id for a in alarms) == sorted([case.pk, other.pk])
    for c in (case, other):
        event = c.events.order_by("-seq").first()
        assert (event.kind, event.actor_id, event.actor_snapshot["username"]) == (
            "evidence_integrity_failed",
            None,
            "system",
        )
        assert verify_case(c).ok


def test_read_verified_hands_out_exactly_the_bytes_it_hashed(evidence):
    with read_verified(SHA) as stream:
        assert stream.read() == CONTENT
    overwrite(SHA, FORGED)
    with pytest.raises(Mismatch) as info:
        read_verified(SHA)
    assert (info.value.sha256, info.value.found) == (SHA, FORGED_SHA)


def test_the_case_page_and_dashboard_show_the_alarm(client, case, evidence, analyst):
    overwrite(SHA, FORGED)
    staff_get(client, analyst, case, evidence)

    page = client.get(case.get_absolute_url()).content.decode()
    assert "Evidence integrity alarm." in page
    assert f"<code>{FORGED_SHA[:16]}…</code>" in page
    dashboard = client.get("/").content.decode()
    assert "Evidence integrity alarms" in dashboard
    assert f'<a href="{case.get_absolute_url()}">{case.reference}</a>: capture.txt (altered' in (
        dashboard
    )


def test_vendors_never_see_the_alarm(client, case, evidence, analyst, vendor_contact):
    overwrite(SHA, FORGED)
    staff_get(client, analyst, case, evidence)
    client.force_login(vendor_contact)

    page = client.get(reverse("portal:case_detail", args=[case.reference])).content.decode()

    assert "integrity" not in page.lower()
