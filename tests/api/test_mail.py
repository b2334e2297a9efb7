"""POST /api/v1/cases/{reference}/mail/: staff write to the vendor; the
access matrix, the answer (communication and delivery), errors; staff read
message_id and delivery on communications, vendors do not."""

import email
import email.policy
import hashlib

import pytest
from django.core import mail

from disclosure.cases.models import Case
from disclosure.cases.stages import Stage
from disclosure.comms.models import Communication, OutboxMessage
from disclosure.evidence.models import EvidenceFile
from tests.api.conftest import b64

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "disclosure@firm.example"
    settings.DISCLOSURE_MAIL_DOMAIN = "firm.example"
    settings.DISCLOSURE_REPLY_ADDRESS = "disclosure+{reference}@firm.example"


BODY = {"to": ["security@contoso.example"], "subject": "Status", "body": "Is it closed?"}


def written(case):
    return (
        Communication.objects.filter(case=case).count(),
        OutboxMessage.objects.filter(purpose="vendor_mail").count(),
        EvidenceFile.objects.filter(case=case).count(),
    )


@pytest.mark.parametrize(
    ("actor", "expected"),
    [
        ("anonymous", 401),
        ("outsider", 404),
        ("other_vendor_contact", 404),
        ("vendor_contact", 403),
        ("legal", 403),
        ("analyst", 201),
        ("lead", 201),
        ("admin_user", 201),
    ],
)
def test_access_matrix(
    request, actor, expected, api, as_, case_at, django_capture_on_commit_callbacks
):
    case = case_at("vendor_notified")
    client = api if actor == "anonymous" else as_(request.getfixturevalue(actor))
    before = written(case)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/api/v1/cases/{case.reference}/mail/", BODY, format="json")
    assert r.status_code == expected, r.json()
    if expected != 201:
        assert written(case) == before
        assert case.reference not in r.json()["message"] or expected == 403


def test_staff_get_the_communication_with_its_delivery(
    as_, analyst, case_at, django_capture_on_commit_callbacks
):
    case = case_at("vendor_notified")
    with django_capture_on_commit_callbacks(execute=True):
        r = as_(analyst).post(
            f"/api/v1/cases/{case.reference}/mail/",
            {**BODY, "cc": ["Ops <ops@contoso.example>"],
             "attachments": [{"name": "steps.txt", "content_base64": b64(b"close it\n")}]},
            format="json",
        )  # fmt: skip
    assert r.status_code == 201, r.json()
    data = r.json()
    comm = Communication.objects.get(pk=data["id"])
    assert data["direction"] == "outbound"
    assert data["channel"] == "email"
    assert data["subject"] == f"[{case.reference}] Status"
    assert data["recipients"] == ["security@contoso.example", "cc: Ops <ops@contoso.example>"]
    assert data["message_id"] == comm.message_id
    # Answered before the commit delivers it (the test's transaction).
    assert data["delivery"]["status"] == "queued"
    assert data["delivery"]["attempts"] == 0
    assert data["delivery"]["server_response"] == ""
    assert data["delivery"]["last_error"] == ""
    assert [a["name"] for a in data["attachments"]] == ["steps.txt"]
    (sent,) = [m for m in mail.outbox if m.extra_headers["Message-ID"] == comm.message_id]
    raw = sent.message().as_bytes(linesep="\r\n")
    assert hashlib.sha256(raw).hexdigest() == comm.raw_message.sha256
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg["Reply-To"] == f"disclosure+{case.reference}@firm.example"
    # The list shows the same to staff, and neither field to the vendor.
    staff_row = as_(analyst).get(f"/api/v1/cases/{case.reference}/communications/").json()
    mine = next(c for c in staff_row["results"] if c["id"] == comm.pk)
    assert mine["delivery"]["status"] == "sent"
    assert mine["delivery"]["attempts"] == 1
    assert mine["delivery"]["server_response"].startswith("handed to django.core.mail")
    assert mine["message_id"] == comm.message_id


def test_vendors_do_not_see_message_id_or_delivery(
    as_, analyst, vendor_contact, case_at, django_capture_on_commit_callbacks
):
    case = case_at("vendor_notified")
    with django_capture_on_commit_callbacks(execute=True):
        as_(analyst).post(f"/api/v1/cases/{case.reference}/mail/", BODY, format="json")
    rows = as_(vendor_contact).get(f"/api/v1/cases/{case.reference}/communications/").json()
    outbound = [c for c in rows["results"] if c["subject"] == f"[{case.reference}] Status"]
    assert len(outbound) == 1
    assert "delivery" not in outbound[0] and "message_id" not in outbound[0]


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"to": ["boss@elsewhere.example"]}, 400, "to"),
        ({"to": []}, 400, None),
        ({"subject": ""}, 400, None),
        ({"in_reply_to": 999999}, 400, "in_reply_to"),
        ({"attach_evidence_ids": [999999]}, 400, "attach_evidence_ids"),
        ({"record_notified": True}, 409, None),
    ],
)
def test_refusals_write_nothing(as_, analyst, case_at, changes, status, field):
    case = case_at("vendor_notified")
    before = written(case)
    r = as_(analyst).post(f"/api/v1/cases/{case.reference}/mail/", {**BODY, **changes},
                          format="json")  # fmt: skip
    assert r.status_code == status, r.json()
    if field:
        assert r.json()["field"] == field
    assert written(case) == before


def test_first_notice_records_the_notification(
    as_, analyst, case_at, django_capture_on_commit_callbacks
):
    case = case_at("found")
    with django_capture_on_commit_callbacks(execute=True):
        r = as_(analyst).post(
            f"/api/v1/cases/{case.reference}/mail/",
            {**BODY, "to": ["abuse@asset-host.example"], "found_at_source": "rfc2142",
             "record_notified": True, "template_key": "first_notice"},
            format="json",
        )  # fmt: skip
    assert r.status_code == 201, r.json()
    assert Case.objects.get(pk=case.pk).stage == Stage.VENDOR_NOTIFIED


def test_unknown_case_is_404(as_, analyst):
    r = as_(analyst).post("/api/v1/cases/DSC-2099-9999/mail/", BODY, format="json")
    assert r.status_code == 404
