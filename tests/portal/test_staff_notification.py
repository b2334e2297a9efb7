"""Staff are e-mailed when a vendor contact sends a message, whatever the
interface (the comms service queues it), only once the message commits."""

from datetime import timedelta

import pytest
from django.core import mail

from disclosure.cases import services
from disclosure.comms import notifications
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now
from tests.factories import MembershipFactory, inbound_kwargs


def _message(actor, case, **changes):
    kwargs = inbound_kwargs(now() - timedelta(minutes=1), channel="portal", **changes)
    return services.log_communication(actor=actor, case=case, **kwargs)


def test_the_assignee_is_told(
    vendor_contact, notified_case, firm, analyst, django_capture_on_commit_callbacks
):
    assignee = MembershipFactory(organization=firm, role="analyst").user
    services.update_details(actor=analyst, case=notified_case, changes={"assignee": assignee})
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        comm = _message(vendor_contact, notified_case, subject="Fixed")
    assert len(callbacks) == 1
    assert [m.to for m in mail.outbox] == [[assignee.email]]
    assert f"/cases/{notified_case.reference}/" in mail.outbox[0].body
    assert comm.body in mail.outbox[0].body


def test_without_an_assignee_leads_analysts_and_admins_are_told(
    vendor_contact, notified_case, lead, legal, admin_user, analyst,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _message(vendor_contact, notified_case)
    assert sorted(mail.outbox[0].to) == sorted([lead.email, admin_user.email, analyst.email])


def test_staff_logging_an_inbound_message_tells_nobody(
    analyst, notified_case, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _message(analyst, notified_case)
    assert callbacks == [] and mail.outbox == []


def test_a_refused_message_queues_nothing(
    vendor_contact, notified_case, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ValidationFailed),
    ):
        _message(vendor_contact, notified_case, direction="outbound")
    assert callbacks == []


def test_a_vanished_message_sends_nothing(db):
    assert notifications.send_vendor_message_notice(10**9) == 0


def test_a_failing_mail_server_does_not_fail_the_vendors_request(
    client, vendor_contact, notified_case, analyst, monkeypatch,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    from django.urls import reverse

    def refuse(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(notifications, "send_mail", refuse)
    client.force_login(vendor_contact)
    url = reverse("portal:case_action", args=[notified_case.reference, "log_communication"])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, {"body": "Hello"})
    assert len(callbacks) == 1  # it ran, and failed
    assert response.status_code == 302
    assert notified_case.communications.filter(body="Hello").exists()
