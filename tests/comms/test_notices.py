"""Notices (comms.notices): who is told of each vendor action and of what
staff share with the vendor, through the transactional outbox, never the
actor, never another vendor's contacts, no confidential text in a vendor's
mail unless the vendor allows it; a rolled-back change tells nobody."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction

from disclosure.accounts.models import User
from disclosure.cases import services
from disclosure.comms.models import Notice, OutboxMessage, OutboxStatus
from disclosure.core.timeutils import now
from disclosure.evidence.services import IncomingFile
from tests.factories import MembershipFactory, inbound_kwargs, make_case

SITE = "http://notices.example"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DISCLOSURE_SITE_URL = SITE
    settings.DISCLOSURE_FIRM_NAME = "Research Firm"
    settings.DISCLOSURE_REPLY_ADDRESS = "case+{reference}@firm.example"


@pytest.fixture
def case(analyst, vendor, lead):
    """Contoso's notified case (no assignee, no watchers; one lead)."""
    return make_case("vendor_notified", actor=analyst, vendor=vendor, title="Exposed bucket")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run ``fn`` as a committed change; the mail that left, as (to, subject, body)."""

    def run(fn, *args, **kwargs):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            fn(*args, **kwargs)
        return [(m.to, m.subject, m.body.replace("\r\n", "\n")) for m in mail.outbox]

    return run


def _minute_ago():
    return now() - timedelta(minutes=1)


def _message(actor, case, **changes):
    kwargs = inbound_kwargs(_minute_ago(), channel="portal", **changes)
    return services.log_communication(actor=actor, case=case, **kwargs)


def _dispute(actor, case):
    return services.file_dispute(
        actor=actor, case=case, subject="Record count",
        firm_position="65,000 records", firm_provenance="Our listing",
        vendor_position="Only 12 records", vendor_provenance="Our logs",
    )  # fmt: skip


# --- who is told of a vendor's action ----------------------------------------------


def test_the_assignee_alone_is_told(case, firm, analyst, lead, vendor_contact, sent):
    assignee = MembershipFactory(organization=firm).user
    services.update_details(actor=analyst, case=case, changes={"assignee": assignee})
    case.watchers.add(analyst)

    mails = sent(services.acknowledge, actor=vendor_contact, case=case, occurred_at=_minute_ago())

    assert mails == [
        (
            [assignee.email],
            f"[{case.reference}] Vendor acknowledged the notice",
            f"{vendor_contact.display_name()} (Contoso) acknowledged the notice on "
            f"{case.reference} — Exposed bucket.\n\n{SITE}/cases/{case.reference}/timeline/\n",
        )
    ]
    row = OutboxMessage.objects.get(recipients=[assignee.email])
    assert (row.purpose, row.case_id, row.status) == ("notification", case.pk, OutboxStatus.SENT)
    notice = Notice.objects.get(user=assignee)
    assert (notice.immediate, notice.digest_id, notice.link) == (
        True, None, f"{SITE}/cases/{case.reference}/timeline/",
    )  # fmt: skip


def test_without_an_assignee_the_watchers_are_told(case, analyst, admin_user, vendor_contact, sent):
    case.watchers.add(analyst, admin_user)
    mails = sent(_message, vendor_contact, case)
    assert sorted(to for to, _, _ in mails) == sorted([[analyst.email], [admin_user.email]])


def test_without_assignee_or_watchers_the_leads_are_told(
    case, firm, lead, analyst, admin_user, legal, vendor_contact, sent
):
    second_lead = MembershipFactory(organization=firm, role="lead")
    mails = sent(_message, vendor_contact, case)
    assert sorted(to for to, _, _ in mails) == sorted([[lead.email], [second_lead.user.email]])


def test_an_inactive_assignee_or_watcher_is_passed_over(
    case, firm, analyst, lead, vendor_contact, sent
):
    gone = MembershipFactory(organization=firm).user
    services.update_details(actor=analyst, case=case, changes={"assignee": gone})
    case.watchers.add(gone)
    User.objects.filter(pk=gone.pk).update(is_active=False)
    mails = sent(_message, vendor_contact, case)
    assert [to for to, _, _ in mails] == [[lead.email]]


def test_a_staff_member_without_an_address_is_passed_over(
    case, analyst, lead, vendor_contact, sent
):
    case.watchers.add(analyst)
    User.objects.filter(pk=analyst.pk).update(email="")
    mails = sent(_message, vendor_contact, case)
    assert [to for to, _, _ in mails] == [[lead.email]]


@pytest.mark.parametrize(
    "action, subject, tab, detail",
    [
        ("message", "Message from the vendor", "communications", "Subject: Fixed"),
        ("upload", "Vendor uploaded a file", "evidence", "File: fix-proof.txt"),
        ("secure", "Vendor says the asset is secured", "timeline", "not re-tested"),
        ("dispute", "Vendor filed a dispute", "disputes", "Vendor's position: Only 12 records"),
    ],
)
def test_every_vendor_action_tells_staff_with_a_link(
    case, lead, vendor_contact, sent, action, subject, tab, detail
):
    run = {
        "message": lambda: _message(vendor_contact, case, subject="Fixed"),
        "upload": lambda: services.attach_evidence(
            actor=vendor_contact,
            case=case,
            file=IncomingFile(name="fix-proof.txt", stream=io.BytesIO(b"closed now")),
        ),
        "secure": lambda: services.secure(
            actor=vendor_contact, case=case, occurred_at=_minute_ago()
        ),
        "dispute": lambda: _dispute(vendor_contact, case),
    }[action]
    mails = sent(run)
    assert len(mails) == 1
    to, got_subject, body = mails[0]
    assert to == [lead.email]
    assert got_subject == f"[{case.reference}] {subject}"
    assert detail in body
    assert f"{SITE}/cases/{case.reference}/{tab}/" in body


def test_the_vendors_countersignature_tells_staff(analyst, lead, vendor, vendor_contact, sent):
    case = make_case("data_deleted", actor=analyst, vendor=vendor)
    mails = sent(
        services.countersign_attestation, actor=vendor_contact, case=case, statement="Agreed."
    )
    assert mails == [
        (
            [lead.email],
            f"[{case.reference}] Vendor countersigned the deletion attestation",
            f"{vendor_contact.display_name()} (Contoso) countersigned the deletion attestation "
            f"on {case.reference} — Exposed bucket.\n\nAgreed.\n\n"
            f"{SITE}/cases/{case.reference}/attestation/\n",
        )
    ]


def test_staff_recording_a_vendors_action_tells_no_staff(case, analyst, lead, vendor_contact, sent):
    case.watchers.add(analyst, lead)
    assert sent(_message, analyst, case) == []
    assert sent(services.acknowledge, actor=analyst, case=case, occurred_at=_minute_ago()) == []
    assert Notice.objects.filter(user__in=[analyst, lead]).count() == 0


def test_the_actor_is_never_told_of_their_own_action(case, analyst, vendor_contact, sent):
    services.update_details(actor=analyst, case=case, changes={"assignee": analyst})
    mails = sent(
        services.log_communication, actor=analyst, case=case, **inbound_kwargs(
            _minute_ago(), direction="outbound", channel="portal", sender="analyst",
            recipients=["Contoso"], subject="Question", body="Is it closed?",
        ),
    )  # fmt: skip
    assert [to for to, _, _ in mails] == [[vendor_contact.email]]
    assert not Notice.objects.filter(user=analyst).exists()


# --- what the vendor is told -------------------------------------------------------


def _portal_message(analyst, case, body="SECRET-BODY: 65,000 records in payroll.csv"):
    return services.log_communication(
        actor=analyst, case=case, **inbound_kwargs(
            _minute_ago(), direction="outbound", channel="portal", sender="analyst",
            recipients=["Contoso"], subject="SECRET-SUBJECT", body=body,
        ),
    )  # fmt: skip


def test_a_shared_message_tells_this_vendors_active_contacts_only(
    case, analyst, vendor, vendor_contact, other_vendor_contact, sent
):
    second = MembershipFactory(organization=vendor, role="vendor_contact").user
    gone = MembershipFactory(organization=vendor, role="vendor_contact").user
    User.objects.filter(pk=gone.pk).update(is_active=False)
    silent = MembershipFactory(organization=vendor, role="vendor_contact").user
    User.objects.filter(pk=silent.pk).update(email="")

    mails = sent(_portal_message, analyst, case)

    assert sorted(to for to, _, _ in mails) == sorted([[vendor_contact.email], [second.email]])
    assert {s for _, s, _ in mails} == {f"[{case.reference}] New message in the portal"}
    for _, _, body in mails:
        assert body == (
            f"Research Firm sent you a message on {case.reference}.\n\n"
            "Sign in to the vendor portal to read the case:\n\n"
            f"{SITE}/portal/cases/{case.reference}/#communications\n"
        )


def test_vendor_mail_carries_no_confidential_content_by_default(
    case, analyst, vendor_contact, sent
):
    mails = sent(_portal_message, analyst, case)
    (_, subject, body) = mails[0]
    raw = bytes(OutboxMessage.objects.get(recipients=[vendor_contact.email]).raw).decode()
    assert f"Reply-To: case+{case.reference}@firm.example" in raw  # answers reach the case
    for secret in ("SECRET", "65,000", "payroll.csv", "Exposed bucket"):
        assert secret not in subject and secret not in body and secret not in raw


def test_vendor_mail_quotes_the_message_when_the_vendor_allows_it(
    case, analyst, vendor, vendor_contact, sent
):
    vendor.mail_includes_content = True
    vendor.save(update_fields=["mail_includes_content"])
    case.refresh_from_db()
    (_, subject, body) = sent(_portal_message, analyst, case)[0]
    assert "SECRET-SUBJECT\n\nSECRET-BODY: 65,000 records in payroll.csv" in body
    assert "Exposed bucket" not in subject


def test_a_message_by_email_or_an_internal_note_tells_the_vendor_nothing(
    case, analyst, vendor_contact, sent
):
    email = inbound_kwargs(
        _minute_ago(), direction="outbound", channel="email", sender="analyst",
        recipients=["security@contoso.example"], subject="Hello",
    )  # fmt: skip
    assert sent(services.log_communication, actor=analyst, case=case, **email) == []
    note = {**email, "direction": "internal", "channel": "other", "recipients": []}
    assert sent(services.log_communication, actor=analyst, case=case, **note) == []


@pytest.mark.parametrize(
    "stage, subject, says",
    [
        ("secured", "Asset recorded as secured", "recorded that the exposed asset is secured"),
        (
            "data_deleted",
            "Please countersign the deletion attestation",
            "asks you to countersign the deletion attestation",
        ),
        ("published", "Advisory published", "recorded the publication of its advisory"),
    ],
)
def test_a_stage_the_vendor_sees_tells_its_contacts(
    analyst, vendor, vendor_contact, sent, stage, subject, says
):
    from tests.factories import advance

    previous = {"secured": "vendor_notified", "data_deleted": "secured", "published": "secured"}
    case = make_case(previous[stage], actor=analyst, vendor=vendor)
    mails = sent(advance, case, stage, actor=analyst, at=_minute_ago())
    assert [(to, s) for to, s, _ in mails] == [
        ([vendor_contact.email], f"[{case.reference}] {subject}")
    ]
    assert says in mails[0][2]
    assert f"{SITE}/portal/cases/{case.reference}/#timeline" in mails[0][2]


def test_a_case_not_yet_notified_tells_the_vendor_nothing(analyst, vendor, vendor_contact, sent):
    case = make_case("found", actor=analyst, vendor=vendor)
    note = inbound_kwargs(
        _minute_ago(), direction="outbound", channel="portal", sender="analyst",
        recipients=["Contoso"],
    )  # fmt: skip
    assert sent(services.log_communication, actor=analyst, case=case, **note) == []


def test_the_first_notice_tells_the_vendor_once(analyst, vendor, vendor_contact, sent):
    from tests.factories import notify_kwargs

    case = make_case("found", actor=analyst, vendor=vendor)
    mails = sent(
        services.notify_vendor, actor=analyst, case=case,
        **notify_kwargs(_minute_ago(), channel="portal"),
    )  # fmt: skip
    assert [s for _, s, _ in mails] == [f"[{case.reference}] A case for you in the vendor portal"]


def test_the_vendors_answer_to_a_dispute_tells_the_vendor(case, analyst, vendor_contact, sent):
    dispute = _dispute(analyst, case)
    mails = sent(services.answer_dispute, actor=analyst, case=case, dispute=dispute, answer="No.")
    assert [(to, s) for to, s, _ in mails] == [
        ([vendor_contact.email], f"[{case.reference}] Your dispute was answered")
    ]
    assert "No." not in mails[0][2]


# --- digest users, rollback, failures ----------------------------------------------


def test_a_digest_reader_gets_a_notice_and_no_mail(case, lead, vendor_contact, sent):
    User.objects.filter(pk=lead.pk).update(mail_delivery="digest")
    assert sent(_message, vendor_contact, case, subject="Fixed") == []
    notice = Notice.objects.get(user=lead)
    assert (notice.immediate, notice.digest_id, notice.subject) == (
        False, None, f"[{case.reference}] Message from the vendor",
    )  # fmt: skip
    assert "Subject: Fixed" in notice.body
    assert notice.link == f"{SITE}/cases/{case.reference}/communications/"


def test_a_rolled_back_change_tells_nobody(
    case, lead, vendor_contact, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        _message(vendor_contact, case)
        raise RuntimeError("the request failed after the service")
    assert callbacks == []
    assert mail.outbox == []
    assert not Notice.objects.exists()
    assert not OutboxMessage.objects.filter(purpose="notification").exists()


def test_a_refused_message_tells_nobody(case, lead, vendor_contact, sent):
    from disclosure.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        sent(_message, vendor_contact, case, direction="outbound")
    assert not Notice.objects.exists()


def test_a_failing_mail_server_does_not_fail_the_vendors_request(
    client, case, lead, vendor_contact, settings, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    client.force_login(vendor_contact)
    url = reverse("portal:case_action", args=[case.reference, "log_communication"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"body": "Hello"})
    assert response.status_code == 302
    assert case.communications.filter(body="Hello").exists()
    row = OutboxMessage.objects.get(recipients=[lead.email])
    assert row.status == OutboxStatus.QUEUED and row.last_error  # retried later


def test_a_received_mail_tells_staff(case, lead, analyst, sent):
    from disclosure.comms.services import MailHeaders, write_communication
    from disclosure.evidence.models import EvidenceKind
    from disclosure.evidence.services import write_evidence

    def receive():
        with transaction.atomic():
            raw = write_evidence(
                case=case, actor=analyst,
                file=IncomingFile(name="m.eml", stream=io.BytesIO(b"Subject: Re\r\n\r\nDone\r\n"),
                                  kind=EvidenceKind.RAW_MESSAGE),
            )  # fmt: skip
            write_communication(
                case=case, actor=analyst, direction="inbound", channel="email",
                sender="security@contoso.example", recipients=["research@firm.example"],
                subject="Re", body="Done", occurred_at=_minute_ago(),
                mail=MailHeaders(message_id="<r1@contoso.example>", raw_message=raw),
            )  # fmt: skip

    mails = sent(receive)
    assert [(to, s) for to, s, _ in mails] == [
        ([lead.email], f"[{case.reference}] Message from the vendor")
    ]
    assert "A message from security@contoso.example was received" in mails[0][2]
