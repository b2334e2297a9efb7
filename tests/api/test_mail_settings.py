"""The caller's mail settings (``me/mail-settings/``) and watching a case
(``cases/{reference}/watch/``) through the API: the same services as the
staff UI (comms.preferences), the access matrix, errors as 400 with a
message."""

import pytest

from disclosure.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SETTINGS = "/api/v1/me/mail-settings/"


# --- mail settings ------------------------------------------------------------


def test_anonymous_is_401(api):
    assert api.get(SETTINGS).status_code == 401
    assert api.put(SETTINGS, {"mail_delivery": "digest"}, format="json").status_code == 401


@pytest.mark.parametrize("who", ["analyst", "legal", "vendor_contact"])
def test_staff_and_vendor_contacts_choose_for_themselves(as_, who, request):
    user = request.getfixturevalue(who)
    client = as_(user)
    assert client.get(SETTINGS).json() == {"mail_delivery": "immediate"}
    r = client.put(SETTINGS, {"mail_delivery": "digest"}, format="json")
    assert (r.status_code, r.json()) == (200, {"mail_delivery": "digest"})
    assert User.objects.get(pk=user.pk).mail_delivery == "digest"
    assert client.get(SETTINGS).json() == {"mail_delivery": "digest"}
    r = client.put(SETTINGS, {"mail_delivery": "immediate"}, format="json")
    assert User.objects.get(pk=user.pk).mail_delivery == "immediate"


def test_someone_of_no_organization_is_403_and_nothing_changes(as_):
    loner = UserFactory(username="loner")
    r = as_(loner).put(SETTINGS, {"mail_delivery": "digest"}, format="json")
    assert (r.status_code, r.json()["code"]) == (403, "not_permitted")
    assert User.objects.get(pk=loner.pk).mail_delivery == "immediate"


@pytest.mark.parametrize("body", [{"mail_delivery": "weekly"}, {}, {"mail_delivery": None}])
def test_a_bad_choice_is_400_with_a_message(as_, analyst, body):
    r = as_(analyst).put(SETTINGS, body, format="json")
    assert r.status_code == 400
    assert r.json()["code"] == "validation_failed"
    assert r.json()["message"].startswith("mail_delivery: ")
    assert User.objects.get(pk=analyst.pk).mail_delivery == "immediate"


def test_a_read_only_token_reads_but_does_not_change(as_, analyst):
    client = as_(analyst, scope="read")
    assert client.get(SETTINGS).status_code == 200
    r = client.put(SETTINGS, {"mail_delivery": "digest"}, format="json")
    assert r.status_code == 403
    assert User.objects.get(pk=analyst.pk).mail_delivery == "immediate"


# --- watching a case -------------------------------------------------------------


def watch_url(case) -> str:
    return f"/api/v1/cases/{case.reference}/watch/"


def test_staff_watch_and_stop_watching(as_, analyst, lead, case_at):
    case = case_at("vendor_notified")
    url = watch_url(case)
    client = as_(analyst)
    assert client.get(url).json() == {"watching": False, "watchers": []}
    r = client.put(url, {"watching": True}, format="json")
    assert r.status_code == 200
    assert r.json() == {
        "watching": True,
        "watchers": [
            {"id": analyst.pk, "username": analyst.username, "name": analyst.display_name()}
        ],
    }
    assert list(case.watchers.all()) == [analyst]
    as_(lead).put(url, {"watching": True}, format="json")
    # Watching twice changes nothing; the lead sees both, and not as watching for the analyst.
    client.put(url, {"watching": True}, format="json")
    body = as_(lead).get(url).json()
    assert body["watching"] is True
    assert sorted(w["username"] for w in body["watchers"]) == sorted(
        [analyst.username, lead.username]
    )
    r = client.put(url, {"watching": False}, format="json")
    assert r.json()["watching"] is False
    assert [w["username"] for w in r.json()["watchers"]] == [lead.username]
    assert set(case.watchers.all()) == {lead}


def test_the_access_matrix(api, as_, analyst, vendor_contact, other_vendor_contact, case_at):
    case = case_at("vendor_notified")
    url = watch_url(case)
    assert api.get(url).status_code == 401
    assert api.put(url, {"watching": True}, format="json").status_code == 401
    # The case's vendor sees the case, but not who at the firm follows it.
    own = as_(vendor_contact)
    assert (own.get(url).status_code, own.get(url).json()["code"]) == (403, "not_permitted")
    r = own.put(url, {"watching": True}, format="json")
    assert r.status_code == 403
    # Another vendor does not learn that the case exists.
    other = as_(other_vendor_contact)
    assert (other.get(url).status_code, other.get(url).json()["code"]) == (404, "not_found")
    assert other.put(url, {"watching": True}, format="json").status_code == 404
    assert not case.watchers.exists()
    assert as_(analyst).get(url).status_code == 200


def test_a_case_before_notification_is_404_to_its_vendor(as_, vendor_contact, case_at):
    case = case_at("found")
    assert as_(vendor_contact).get(watch_url(case)).status_code == 404


def test_an_unknown_case_is_404(as_, analyst):
    r = as_(analyst).get("/api/v1/cases/DSC-2099-9999/watch/")
    assert (r.status_code, r.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize("body", [{}, {"watching": "perhaps"}, {"watching": None}])
def test_a_bad_body_is_400_and_changes_nothing(as_, analyst, case_at, body):
    case = case_at("vendor_notified")
    r = as_(analyst).put(watch_url(case), body, format="json")
    assert (r.status_code, r.json()["code"]) == (400, "validation_failed")
    assert r.json()["message"].startswith("watching: ")
    assert not case.watchers.exists()


def test_watchers_query_count(as_, analyst, lead, legal, case_at, django_assert_max_num_queries):
    case = case_at("vendor_notified")
    case.watchers.add(analyst, lead, legal)
    client = as_(analyst)
    client.get("/api/v1/me/")  # the token's first use is recorded once
    with django_assert_max_num_queries(3):  # token and user, the case, its watchers
        r = client.get(watch_url(case))
    assert len(r.json()["watchers"]) == 3
