"""The staff case page's "Evidence retention" panel and the page where a
lead or an admin sets the case's retention period (evidence.retention)."""

from datetime import timedelta

import pytest

from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent, EventKind
from tests.factories import make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _retention(settings, db):
    from disclosure.cases.policies import ensure_default_policies

    ensure_default_policies()
    settings.DISCLOSURE_RETENTION_DAYS = 365


@pytest.fixture
def case(analyst, vendor):
    return make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)


def page(case) -> str:
    return f"/cases/{case.reference}/retention/"


def test_the_case_page_says_how_long_evidence_is_kept(client, case, analyst, lead):
    client.force_login(analyst)
    html = client.get(case.get_absolute_url()).content.decode()
    assert (
        "is kept <strong>365 days</strong> after the case is closed (the deployment's default)"
        in html
    )
    assert "The period starts when the case is closed." in html
    assert page(case) not in html  # analysts may not change it
    client.force_login(lead)
    assert page(case) in client.get(case.get_absolute_url()).content.decode()


def test_the_panel_names_the_purge_date_of_a_closed_case(client, analyst, lead, vendor):
    start = now() - timedelta(days=10)
    closed = make_case(Stage.CLOSED, actor=analyst, vendor=vendor, lead=lead, start=start)
    client.force_login(analyst)
    html = client.get(closed.get_absolute_url()).content.decode()
    due = closed.closed_at + timedelta(days=365)
    assert f'Purge due <time datetime="{due:%Y-%m-%dT%H:%M}' in html


def test_a_case_on_legal_hold_says_nothing_is_purged(client, case, lead):
    from disclosure.cases import services

    services.set_legal_hold(actor=lead, case=case, on=True, reason="Litigation")
    client.force_login(lead)
    html = client.get(case.get_absolute_url()).content.decode()
    assert "The case is on legal hold: nothing is purged while it lasts." in html


def test_access_to_the_retention_page(
    client, case, analyst, legal, lead, admin_user, vendor_contact, other_vendor_contact
):
    assert client.get(page(case)).status_code == 302  # anonymous: the sign-in
    for days, (user, status) in enumerate(
        [
            (other_vendor_contact, 404),
            (vendor_contact, 404),
            (analyst, 403),
            (legal, 403),
            (lead, 200),
            (admin_user, 200),
        ]
    ):
        client.force_login(user)
        assert client.get(page(case)).status_code == status, user
        response = client.post(page(case), {"days": str(days), "reason": "r"})
        assert response.status_code == (302 if status == 200 else status), user
    case.refresh_from_db()
    assert case.retention_days == 5  # the admin's; nobody else's was taken
    assert CaseEvent.objects.filter(case=case, kind=EventKind.RETENTION_CHANGED).count() == 2
    client.force_login(lead)
    assert client.get("/cases/DSC-1999-9999/retention/").status_code == 404


def test_a_lead_sets_the_period_with_a_reason(client, case, lead):
    client.force_login(lead)
    response = client.post(page(case), {"days": "30", "reason": "Regulator's instruction"})
    assert response.status_code == 302
    assert response["Location"] == case.get_absolute_url() + "#retention"
    case.refresh_from_db()
    assert case.retention_days == 30
    event = CaseEvent.objects.filter(case=case).order_by("-seq").first()
    assert event.kind == EventKind.RETENTION_CHANGED
    assert event.payload == {
        "from": None,
        "to": 30,
        "default": 365,
        "reason": "Regulator's instruction",
    }
    html = client.get(case.get_absolute_url()).content.decode()
    assert "is kept <strong>30 days</strong> after the case is closed (set for this case)" in html
    # Empty: back to the default.
    client.post(page(case), {"days": "", "reason": "Back to normal"})
    case.refresh_from_db()
    assert case.retention_days is None


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"days": "-1", "reason": "r"}, "Ensure this value is greater than or equal to 0."),
        ({"days": "30", "reason": ""}, "This field is required."),
        ({"days": "", "reason": "r"}, "The retention period is already that."),
    ],
)
def test_refusals_are_form_errors(client, case, lead, data, error):
    client.force_login(lead)
    response = client.post(page(case), data)
    assert response.status_code == 400
    assert error in response.content.decode()
    case.refresh_from_db()
    assert case.retention_days is None
