"""A vendor's "secured" is shown as claimed by the vendor, not re-tested,
until staff confirm it with a re-test (issue 17, item 9): derived from the
ledger (the milestone's basis, and a confirming correction), shown on the
staff case page (header and stage bar) and in the portal; confirmed by
``services.confirm_secured`` (staff who may correct events)."""

import io
from datetime import timedelta

import pytest
from django.core import mail

from disclosure.cases import services
from disclosure.cases.secured_claim import CONFIRMS, unconfirmed_claim
from disclosure.core.errors import (
    InvalidTimestamp,
    NotFound,
    NotPermitted,
    TransitionNotAllowed,
    ValidationFailed,
)
from disclosure.core.timeutils import now
from disclosure.evidence.models import EvidenceFile
from disclosure.evidence.services import IncomingFile
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from tests.factories import inbound_kwargs, make_case
from tests.staff.action_helpers import local

LABEL = "Secured — claimed by the vendor, not re-tested"
NOTE = "Claimed by the vendor, not re-tested"


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def claimed(analyst, vendor, vendor_contact):
    """Contoso's case, recorded secured by its own contact an hour ago."""
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    services.secure(actor=vendor_contact, case=case, occurred_at=now() - timedelta(hours=1))
    case.refresh_from_db()
    return case


def _confirm(actor, case, **changes):
    kwargs = {"retest_result": "403 on anonymous listing", **changes}
    return services.confirm_secured(actor=actor, case=case, **kwargs)


def _staff_page(client, user, case) -> str:
    client.force_login(user)
    return client.get(f"/cases/{case.reference}/").content.decode()


def _portal_page(client, user, case) -> str:
    client.force_login(user)
    return client.get(f"/portal/cases/{case.reference}/").content.decode()


def test_a_vendors_secured_shows_as_its_claim_everywhere(client, claimed, analyst, vendor_contact):
    assert unconfirmed_claim(claimed) is not None
    page = _staff_page(client, analyst, claimed)
    assert f"<strong>{LABEL}</strong>" in page  # the header's stage
    assert NOTE in page  # the stage bar's secured step
    assert f'href="/cases/{claimed.reference}/confirm-secured/">Confirm with a re-test' in page
    portal = _portal_page(client, vendor_contact, claimed)
    assert f"Contoso · {LABEL}" in portal
    assert f'<small class="secured-claim">{NOTE}</small>' in portal


def test_staff_recording_the_vendors_message_is_a_claim_too(client, analyst, vendor):
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    message = services.log_communication(
        actor=analyst, case=case, **inbound_kwargs(now() - timedelta(hours=2))
    )
    services.secure(
        actor=analyst, case=case, occurred_at=now() - timedelta(hours=1), confirmation=message
    )
    case.refresh_from_db()
    assert f"<strong>{LABEL}</strong>" in _staff_page(client, analyst, case)


def test_a_secured_on_a_re_test_is_no_claim(client, analyst, vendor, vendor_contact):
    case = make_case("secured", actor=analyst, vendor=vendor)
    assert unconfirmed_claim(case) is None
    assert NOTE not in _staff_page(client, analyst, case)
    assert NOTE not in _portal_page(client, vendor_contact, case)


def test_legal_sees_the_claim_without_the_confirm_link(client, claimed, legal):
    page = _staff_page(client, legal, claimed)
    assert NOTE in page and "confirm-secured" not in page


def test_staff_confirm_the_claim_with_a_re_test(
    client, claimed, analyst, vendor_contact, django_capture_on_commit_callbacks
):
    secured = CaseEvent.objects.get(
        case=claimed, kind="stage_changed", payload__milestone="secured"
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        event = _confirm(
            analyst, claimed,
            evidence=[IncomingFile(name="retest.txt", stream=io.BytesIO(b"HTTP 403"))],
        )  # fmt: skip

    assert (event.kind, event.internal) == ("correction", False)
    assert event.payload == {
        "corrects_seq": secured.seq,
        "corrects_hash": secured.hash,
        "reason": "Re-tested by the firm: the vendor's claim that the asset is secured is "
        "confirmed.",
        "statement": "403 on anonymous listing",
        "confirms": CONFIRMS,
        "evidence": [EvidenceFile.objects.get(original_name="retest.txt").sha256],
    }
    assert EvidenceFile.objects.get(original_name="retest.txt").kind == "retest_result"
    assert verify_case(claimed).ok
    assert unconfirmed_claim(claimed) is None
    assert NOTE not in _staff_page(client, analyst, claimed)
    assert NOTE not in _portal_page(client, vendor_contact, claimed)
    assert [(m.to, m.subject) for m in mail.outbox] == [
        ([vendor_contact.email], f"[{claimed.reference}] Re-test confirms the asset is secured")
    ]


def test_the_confirm_page(client, claimed, analyst):
    client.force_login(analyst)
    url = f"/cases/{claimed.reference}/confirm-secured/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"occurred_at": "", "retest_result": ""})
    assert bad.status_code == 400
    assert unconfirmed_claim(claimed) is not None
    response = client.post(
        url, {"occurred_at": local(now()), "retest_result": "403 on anonymous listing"}
    )
    assert response.status_code == 302 and response["Location"] == f"/cases/{claimed.reference}/"
    assert unconfirmed_claim(claimed) is None


def test_who_may_open_the_confirm_page(client, claimed, legal, vendor_contact):
    url = f"/cases/{claimed.reference}/confirm-secured/"
    assert client.get(url).status_code == 302  # anonymous: sign in
    client.force_login(legal)
    assert client.get(url).status_code == 403
    assert client.post(url, {"retest_result": "x"}).status_code == 403
    client.force_login(vendor_contact)
    assert client.get(url).status_code == 404
    assert unconfirmed_claim(claimed) is not None


@pytest.mark.parametrize(
    ("actor", "error"),
    [("legal", NotPermitted), ("vendor_contact", NotPermitted), ("other_vendor_contact", NotFound)],
)
def test_only_staff_who_correct_events_confirm(claimed, request, actor, error):
    with pytest.raises(error):
        _confirm(request.getfixturevalue(actor), claimed)
    assert unconfirmed_claim(claimed) is not None


def test_nothing_to_confirm_is_refused(analyst, vendor, claimed):
    not_secured = make_case("vendor_notified", actor=analyst, vendor=vendor)
    with pytest.raises(TransitionNotAllowed, match="not recorded as secured"):
        _confirm(analyst, not_secured)
    retested = make_case("secured", actor=analyst, vendor=vendor)
    with pytest.raises(TransitionNotAllowed, match="on a re-test already"):
        _confirm(analyst, retested)
    first = _confirm(analyst, claimed)
    with pytest.raises(TransitionNotAllowed, match=f"confirmed already \\(event #{first.seq}\\)"):
        _confirm(analyst, claimed)


def test_bad_input_is_refused_and_writes_nothing(analyst, claimed):
    events = claimed.events.count()
    with pytest.raises(ValidationFailed) as exc:
        _confirm(analyst, claimed, retest_result="  ")
    assert exc.value.field == "retest_result"
    with pytest.raises(InvalidTimestamp):
        _confirm(analyst, claimed, occurred_at=claimed.secured_at - timedelta(minutes=1))
    with pytest.raises(InvalidTimestamp):
        _confirm(analyst, claimed, occurred_at=now() + timedelta(hours=1))
    assert claimed.events.count() == events
    assert unconfirmed_claim(claimed) is not None
