"""Staff mail settings (a mail per notice or a daily digest) and the case
page's "Watch this case" toggle: the pages, the services and who may use them."""

import re

import pytest
from django.urls import reverse

from disclosure.accounts.models import User
from disclosure.comms.preferences import set_mail_delivery, watch_case
from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from tests.factories import make_case

SETTINGS_URL = "/settings/mail/"


@pytest.fixture
def case(analyst, vendor):
    return make_case("vendor_notified", actor=analyst, vendor=vendor)


def _watch_url(case):
    return f"/cases/{case.reference}/watch/"


def test_the_urls_are_where_the_page_links_them(case):
    assert reverse("staff:mail_settings") == SETTINGS_URL
    assert reverse("staff:case_watch", args=[case.reference]) == _watch_url(case)


def test_staff_choose_the_daily_digest(client, analyst):
    client.force_login(analyst)
    page = client.get(SETTINGS_URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r'value="immediate"[^>]*checked', html)
    assert not re.search(r'value="digest"[^>]*checked', html)
    assert "Each notice at once" in html and "A daily digest" in html

    response = client.post(SETTINGS_URL, {"mail_delivery": "digest"})

    assert response.status_code == 302 and response["Location"] == SETTINGS_URL
    analyst.refresh_from_db()
    assert analyst.mail_delivery == "digest"
    assert "Mail settings saved." in client.get(SETTINGS_URL).content.decode()


def test_an_unknown_choice_is_a_form_error(client, analyst):
    client.force_login(analyst)
    response = client.post(SETTINGS_URL, {"mail_delivery": "hourly"})
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    analyst.refresh_from_db()
    assert analyst.mail_delivery == "immediate"


def test_the_settings_page_is_linked_from_the_navigations_mail_pages(client, legal):
    client.force_login(legal)
    assert 'href="/mail/"' in client.get("/cases/").content.decode()
    assert f'href="{SETTINGS_URL}"' in client.get("/mail/").content.decode()


def test_anonymous_users_sign_in_and_vendor_contacts_get_404(client, vendor_contact):
    response = client.get(SETTINGS_URL)
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(vendor_contact)
    assert client.get(SETTINGS_URL).status_code == 404
    assert client.post(SETTINGS_URL, {"mail_delivery": "digest"}).status_code == 404
    vendor_contact.refresh_from_db()
    assert vendor_contact.mail_delivery == "immediate"


def test_the_service_refuses_unknown_choices_and_outsiders(analyst, outsider):
    with pytest.raises(ValidationFailed) as exc:
        set_mail_delivery(actor=analyst, choice="weekly")
    assert exc.value.field == "choice"
    with pytest.raises(NotPermitted):
        set_mail_delivery(actor=outsider, choice="digest")
    assert set_mail_delivery(actor=analyst, choice="digest").mail_delivery == "digest"
    assert User.objects.get(pk=analyst.pk).mail_delivery == "digest"


# --- watching a case ---------------------------------------------------------------


def test_staff_watch_and_stop_watching_from_the_case_page(client, case, analyst):
    client.force_login(analyst)
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Watch this case" in page and f'action="{_watch_url(case)}"' in page

    response = client.post(_watch_url(case), {"watching": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.reference}/"
    assert list(case.watchers.all()) == [analyst]
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Stop watching" in page and f"You watch {case.reference} now." in page

    client.post(_watch_url(case), {"watching": "0"})
    assert list(case.watchers.all()) == []


@pytest.mark.parametrize("role", ["analyst", "lead", "legal", "admin_user"])
def test_every_staff_role_may_watch(client, case, role, request):
    user = request.getfixturevalue(role)
    client.force_login(user)
    assert client.post(_watch_url(case), {"watching": "1"}).status_code == 302
    assert list(case.watchers.all()) == [user]


def test_watching_needs_a_post(client, case, analyst):
    client.force_login(analyst)
    assert client.get(_watch_url(case)).status_code == 405
    assert not case.watchers.exists()


def test_anonymous_and_vendor_contacts_cannot_watch(client, case, vendor_contact):
    response = client.post(_watch_url(case), {"watching": "1"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(vendor_contact)
    assert client.post(_watch_url(case), {"watching": "1"}).status_code == 404
    assert not case.watchers.exists()


def test_an_unknown_case_is_404(client, analyst):
    client.force_login(analyst)
    assert client.post("/cases/DSC-2026-9999/watch/", {"watching": "1"}).status_code == 404


def test_the_watch_service_refuses_vendor_contacts(case, vendor_contact, other_vendor_contact):
    with pytest.raises(NotPermitted):
        watch_case(actor=vendor_contact, case=case, watching=True)
    with pytest.raises(NotFound):
        watch_case(actor=other_vendor_contact, case=case, watching=True)
    assert not case.watchers.exists()


def test_watching_twice_changes_nothing(case, analyst):
    assert watch_case(actor=analyst, case=case, watching=True) is True
    assert watch_case(actor=analyst, case=case, watching=True) is True
    assert list(case.watchers.all()) == [analyst]
    assert watch_case(actor=analyst, case=case, watching=False) is False
    assert watch_case(actor=analyst, case=case, watching=False) is False
    assert not case.watchers.exists()
