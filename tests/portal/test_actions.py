"""The vendor's actions through the portal: each calls its service, so it is
in the ledger (and in the communications log when it is a message); bad
input is a form error that changes nothing; another vendor's case is 404
and changes nothing."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from disclosure.affected.models import Dispute
from disclosure.cases.models import Case
from disclosure.comms.models import Communication
from disclosure.core.timeutils import now
from disclosure.evidence.models import DeletionAttestation, EvidenceFile
from disclosure.ledger.models import CaseEvent
from tests.factories import advance, make_case


def _post(client, case, action, data):
    return client.post(reverse("portal:case_action", args=[case.reference, action]), data)


def _last_event(case):
    return CaseEvent.objects.filter(case=case).order_by("-seq").first()


@pytest.fixture
def contact_client(client, vendor_contact):
    client.force_login(vendor_contact)
    return client


def test_acknowledge(contact_client, notified_case, vendor_contact):
    response = _post(contact_client, notified_case, "acknowledge", {"note": "Looking into it."})
    assert response.status_code == 302
    notified_case.refresh_from_db()
    assert notified_case.vendor_acknowledged_at is not None
    event = _last_event(notified_case)
    assert event.kind == "vendor_acknowledged"
    assert event.payload == {"note": "Looking into it."}
    assert event.actor_snapshot["organization"] == "Contoso"
    assert event.actor_snapshot["id"] == vendor_contact.pk
    # Once acknowledged, the action is no longer offered, and refused.
    assert _post(contact_client, notified_case, "acknowledge", {}).status_code == 403


def test_reply_is_logged_as_an_inbound_portal_message_and_staff_are_mailed(
    contact_client, notified_case, analyst, lead, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = contact_client.post(
            reverse("portal:case_action", args=[notified_case.reference, "log_communication"]),
            {
                "subject": "Re: exposed bucket",
                "body": "We closed public access.",
                "attachments": [SimpleUploadedFile("acl.txt", b"private acl")],
            },
        )
    assert response.status_code == 302
    comm = Communication.objects.filter(case=notified_case).latest("id")
    assert (comm.direction, comm.channel, comm.subject) == (
        "inbound",
        "portal",
        "Re: exposed bucket",
    )
    assert [f.original_name for f in comm.attachments.all()] == ["acl.txt"]
    assert _last_event(notified_case).kind == "communication_logged"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [lead.email]  # no assignee, no watchers: the leads
    assert notified_case.reference in mail.outbox[0].subject
    assert "We closed public access." in mail.outbox[0].body


def test_a_refused_message_mails_nobody_and_logs_nothing(
    contact_client, notified_case, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    before = notified_case.ledger_seq
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(contact_client, notified_case, "log_communication", {"body": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    notified_case.refresh_from_db()
    assert notified_case.ledger_seq == before
    assert mail.outbox == []


def test_upload_evidence(contact_client, notified_case):
    response = contact_client.post(
        reverse("portal:case_action", args=[notified_case.reference, "attach_evidence"]),
        {"file": SimpleUploadedFile("private.png", b"\x89PNG proof"), "kind": "screenshot"},
    )
    assert response.status_code == 302
    f = EvidenceFile.objects.get(case=notified_case, original_name="private.png")
    assert (f.kind, f.internal) == ("screenshot", False)
    assert _last_event(notified_case).kind == "evidence_attached"


def test_uploading_the_same_file_twice_is_a_form_error(contact_client, notified_case):
    url = reverse("portal:case_action", args=[notified_case.reference, "attach_evidence"])
    contact_client.post(url, {"file": SimpleUploadedFile("a.txt", b"same"), "kind": "other"})
    notified_case.refresh_from_db()
    before = notified_case.ledger_seq
    response = contact_client.post(
        url, {"file": SimpleUploadedFile("b.txt", b"same"), "kind": "other"}
    )
    assert response.status_code == 400
    assert "already attached" in response.content.decode()
    notified_case.refresh_from_db()
    assert notified_case.ledger_seq == before


def test_confirm_secured(contact_client, notified_case):
    at = now() - timedelta(minutes=1)
    response = contact_client.post(
        reverse("portal:case_action", args=[notified_case.reference, "secure"]),
        {
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M"),
            "note": "Public access removed.",
            "confirm": "on",
            "evidence": [SimpleUploadedFile("retest.txt", b"403 Forbidden")],
        },
    )
    assert response.status_code == 302, response.content
    notified_case.refresh_from_db()
    assert notified_case.stage == "secured"
    event = _last_event(notified_case)
    assert event.payload["basis"] == "vendor_confirmation"
    assert event.payload["confirmed_by_vendor_contact"] is True
    assert event.payload["note"] == "Public access removed."


@pytest.mark.parametrize(
    "data,error",
    [
        ({"note": "x", "confirm": "on"}, "This field is required."),  # no time
        ({"occurred_at": "2999-01-01T00:00", "note": "x", "confirm": "on"}, "in the future"),
        ({"occurred_at": "2020-01-01T00:00", "note": "x", "confirm": "on"}, "cannot be before"),
        ({"occurred_at": "2020-01-01T00:00", "note": "x"}, "This field is required."),
    ],
)
def test_confirm_secured_refusals_change_nothing(contact_client, notified_case, data, error):
    before = notified_case.ledger_seq
    response = _post(contact_client, notified_case, "secure", data)
    assert response.status_code == 400
    assert error in response.content.decode()
    notified_case.refresh_from_db()
    assert (notified_case.stage, notified_case.ledger_seq) == ("vendor_notified", before)


def test_countersign(client, analyst, vendor, vendor_contact):
    case = make_case("data_deleted", actor=analyst, vendor=vendor)
    client.force_login(vendor_contact)
    response = _post(
        client,
        case,
        "countersign_attestation",
        {"name": "Alex Chen", "title": "CISO", "statement": "Received.", "confirm": "on"},
    )
    assert response.status_code == 302
    attestation = DeletionAttestation.objects.get(case=case)
    assert attestation.countersigned_by == vendor_contact
    assert attestation.countersignature_statement == "Received.\n— Alex Chen, CISO"
    assert _last_event(case).kind == "attestation_countersigned"
    # Once only.
    assert _post(client, case, "countersign_attestation", {}).status_code == 403


def test_the_countersign_form_shows_what_is_countersigned(client, analyst, vendor, vendor_contact):
    """Issue 16, item 6: the attestation's items, total and SHA-256 are on
    the form the contact signs (make_case's deletion: one item of 1024 bytes)."""
    case = make_case("data_deleted", actor=analyst, vendor=vendor)
    attestation = DeletionAttestation.objects.get(case=case)
    client.force_login(vendor_contact)
    url = reverse("portal:case_action", args=[case.reference, "countersign_attestation"])
    html = client.get(url).content.decode()
    section = html[html.index('<section id="countersigned-attestation"') :]
    section = section[: section.index("</section>")]
    for fact in (
        "<dt>Method</dt><dd>Purge</dd>",
        "<dt>Items destroyed</dt><dd>1</dd>",
        "<dt>Total</dt><dd>1.0 kB (1,024 bytes)</dd>",
        f'<dt>Attestation SHA-256</dt><dd><code class="hash">{attestation.content_sha256}',
        "<td><code>copies/container.tar</code></td><td>1.0 kB (1,024 bytes)</td>",
        f'<td><code class="hash">{"a" * 64}</code></td>',
    ):
        assert fact in section, fact
    # Other actions' forms do not carry it.
    other = reverse("portal:case_action", args=[case.reference, "file_dispute"])
    assert "countersigned-attestation" not in client.get(other).content.decode()


def test_file_dispute(contact_client, notified_case, vendor_contact):
    form = contact_client.get(
        reverse("portal:case_action", args=[notified_case.reference, "file_dispute"])
    )
    assert "65,000 affected entities." in form.content.decode()  # the firm's claim, prefilled
    response = _post(
        contact_client,
        notified_case,
        "file_dispute",
        {
            "subject": "Affected entity count",
            "firm_position": "65,000 affected entities.",
            "firm_provenance": "The case details.",
            "vendor_position": "Your count double-counts entities; ours is 548.",
            "vendor_provenance": "Deduplicated by tenant id across the container's files.",
        },
    )
    assert response.status_code == 302
    dispute = Dispute.objects.get(case=notified_case)
    assert dispute.filed_by == vendor_contact
    assert dispute.vendor_position.endswith("ours is 548.")
    assert _last_event(notified_case).kind == "dispute_filed"


def test_a_dispute_without_a_position_changes_nothing(contact_client, notified_case):
    response = _post(contact_client, notified_case, "file_dispute", {"subject": "Count"})
    assert response.status_code == 400
    assert not Dispute.objects.exists()


@pytest.mark.parametrize(
    "action,data",
    [
        ("acknowledge", {"note": "x"}),
        ("log_communication", {"body": "hello"}),
        ("attach_evidence", {"kind": "other"}),
        ("secure", {"occurred_at": "2024-01-01T00:00", "note": "x", "confirm": "on"}),
        ("file_dispute", {"subject": "s", "firm_position": "a", "firm_provenance": "b",
                          "vendor_position": "c", "vendor_provenance": "d"}),
        ("countersign_attestation", {"name": "a", "title": "b", "statement": "c", "confirm": "on"}),
    ],
)  # fmt: skip
def test_another_vendors_case_is_404_and_unchanged(contact_client, other_case, action, data):
    if action == "attach_evidence":
        data = {**data, "file": SimpleUploadedFile("x.txt", b"x")}
    before = other_case.ledger_seq
    response = _post(contact_client, other_case, action, data)
    assert response.status_code == 404
    other_case.refresh_from_db()
    assert other_case.ledger_seq == before
    assert not Dispute.objects.filter(case=other_case).exists()


def test_staff_cannot_act_through_the_portal(client, analyst, notified_case):
    client.force_login(analyst)
    before = notified_case.ledger_seq
    assert _post(client, notified_case, "acknowledge", {"note": "x"}).status_code == 404
    notified_case.refresh_from_db()
    assert notified_case.ledger_seq == before


def test_anonymous_posts_go_to_sign_in_and_change_nothing(client, notified_case):
    before = notified_case.ledger_seq
    response = _post(client, notified_case, "acknowledge", {"note": "x"})
    assert response.status_code == 302
    assert Case.objects.get(pk=notified_case.pk).ledger_seq == before


def test_a_case_under_the_contacts_vendor_but_later_stage_offers_the_right_actions(
    contact_client, analyst, vendor
):
    case = make_case("secured", actor=analyst, vendor=vendor)
    html = contact_client.get(reverse("portal:case_detail", args=[case.reference])).content.decode()
    for action in ("acknowledge", "log_communication", "attach_evidence", "file_dispute"):
        assert f'data-action="{action}"' in html
    for action in ("secure", "countersign_attestation"):
        assert f'data-action="{action}"' not in html
    advance(case, "data_deleted", actor=analyst, at=now() - timedelta(minutes=1))
    html = contact_client.get(reverse("portal:case_detail", args=[case.reference])).content.decode()
    assert 'data-action="countersign_attestation"' in html
