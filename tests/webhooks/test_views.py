"""The webhook pages: admins only (access matrix), the subscription form
(a refused address is a form error), the delivery log's filters, pages and
query counts, and redeliver."""

import json

import pytest

from disclosure.cases.stages import Stage
from disclosure.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.factories import make_case
from tests.webhooks.conftest import SECRET

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(subscribe, analyst, vendor):
    """A subscription and the delivery of a case's opening (not yet sent)."""
    sub = subscribe(internal=True, event_kinds=["case_opened"])
    case = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    return sub, case, WebhookDelivery.objects.get()


def _pages(sub, row):
    return [
        ("get", "/webhooks/"),
        ("get", "/webhooks/new/"),
        ("get", f"/webhooks/{sub.pk}/"),
        ("post", f"/webhooks/{sub.pk}/toggle/"),
        ("get", "/webhooks/deliveries/"),
        ("get", f"/webhooks/deliveries/{row.pk}/"),
        ("post", f"/webhooks/deliveries/{row.pk}/redeliver/"),
    ]


def test_anonymous_users_are_sent_to_sign_in(client, delivered):
    sub, _, row = delivered
    for method, url in _pages(sub, row):
        r = getattr(client, method)(url)
        assert r.status_code == 302, url
        assert r["Location"].startswith("/login/?next="), url


@pytest.mark.parametrize("who", ["vendor_contact", "other_vendor_contact", "outsider"])
def test_vendor_contacts_and_outsiders_get_404(client, delivered, who, request):
    sub, _, row = delivered
    client.force_login(request.getfixturevalue(who))
    for method, url in _pages(sub, row):
        assert getattr(client, method)(url).status_code == 404, url


@pytest.mark.parametrize("who", ["analyst", "lead", "legal"])
def test_staff_who_are_not_admins_get_403(client, delivered, who, request):
    sub, _, row = delivered
    client.force_login(request.getfixturevalue(who))
    for method, url in _pages(sub, row):
        assert getattr(client, method)(url).status_code == 403, url
    sub.refresh_from_db()
    assert sub.active
    assert WebhookDelivery.objects.count() == 1


def test_admins_see_every_page(client, delivered, admin_user):
    sub, case, row = delivered
    client.force_login(admin_user)
    page = client.get("/webhooks/").content.decode()
    assert "SIEM" in page and "case_opened" in page
    assert client.get("/webhooks/new/").status_code == 200
    edit = client.get(f"/webhooks/{sub.pk}/")
    assert edit.status_code == 200 and SECRET in edit.content.decode()
    assert "no-store" in edit["Cache-Control"]
    log = client.get("/webhooks/deliveries/").content.decode()
    assert case.reference in log and "1 delivery" in log
    detail = client.get(f"/webhooks/deliveries/{row.pk}/").content.decode()
    assert str(row.delivery_id) in detail and "Redeliver" in detail


def test_the_tokens_page_links_webhooks_for_admins_only(client, admin_user, analyst):
    client.force_login(admin_user)
    assert 'href="/webhooks/"' in client.get("/tokens/").content.decode()
    client.force_login(analyst)
    assert 'href="/webhooks/"' not in client.get("/tokens/").content.decode()


def _form(url, **changes):
    return {"name": "Ticketing", "url": url, "secret": SECRET, "active": "on", **changes}


def test_an_admin_subscribes_a_url(client, admin_user, receiver, vendor, analyst):
    other = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    client.force_login(admin_user)
    r = client.post(
        "/webhooks/new/",
        _form(
            receiver.url,
            event_kinds=["stage_changed", "case_opened"],
            vendors=[vendor.pk],
            cases=other.reference.lower(),
            internal="on",
        ),
    )
    sub = WebhookSubscription.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/webhooks/{sub.pk}/"
    assert (sub.name, sub.url, sub.secret, sub.internal, sub.active) == (
        "Ticketing", receiver.url, SECRET, True, True,
    )  # fmt: skip
    assert sub.event_kinds == ["case_opened", "stage_changed"]
    assert list(sub.vendors.all()) == [vendor]
    assert list(sub.cases.all()) == [other]
    assert sub.created_by == admin_user

    # Editing with an empty secret keeps it; unticking "active" disables it.
    r = client.post(f"/webhooks/{sub.pk}/", {"name": "Ticketing", "url": receiver.url})
    assert r.status_code == 302
    sub.refresh_from_db()
    assert (sub.secret, sub.active, sub.event_kinds, sub.internal) == (SECRET, False, [], False)
    assert list(sub.vendors.all()) == [] and list(sub.cases.all()) == []


def test_a_new_subscription_without_a_secret_gets_one(client, admin_user, receiver):
    client.force_login(admin_user)
    client.post("/webhooks/new/", _form(receiver.url, secret=""))
    secret = WebhookSubscription.objects.get().secret
    assert len(secret) == 64 and int(secret, 16) >= 0


@pytest.mark.parametrize(
    ("url", "allow", "error"),
    [
        ("http://127.0.0.1:9/hook", False, "may not be fetched: 127.0.0.1 is a private"),
        ("http://10.0.0.1/hook", False, "may not be fetched: 10.0.0.1 is a private"),
        ("http://169.254.169.254/latest", True, "169.254.169.254 is a cloud metadata address"),
        ("http://localhost:9/hook", False, "localhost may not be used: 127.0.0.1 is a private"),
        ("ftp://example.com/x", True, "Only http:// and https:// URLs"),
        ("https://user:pw@example.com/x", True, "may not carry a user name or password"),
    ],
)
def test_a_refused_address_is_a_form_error(client, admin_user, settings, url, allow, error):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = allow
    client.force_login(admin_user)
    r = client.post("/webhooks/new/", _form(url))
    assert r.status_code == 400
    assert error in r.content.decode()
    assert not WebhookSubscription.objects.exists()


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"secret": "too-short"}, "The secret must be 16 to 200 characters."),
        ({"name": " "}, "This field is required."),
        ({"cases": "DSC-1999-0001"}, "No such case: DSC-1999-0001."),
        ({"event_kinds": ["no_such_kind"]}, "Select a valid choice."),
    ],
)
def test_bad_input_is_a_form_error(client, admin_user, receiver, changes, error):
    client.force_login(admin_user)
    r = client.post("/webhooks/new/", _form(receiver.url, **changes))
    assert r.status_code == 400
    assert error in r.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_disable_and_enable(client, admin_user, delivered):
    sub, _, _ = delivered
    client.force_login(admin_user)
    assert client.post(f"/webhooks/{sub.pk}/toggle/").status_code == 302
    sub.refresh_from_db()
    assert not sub.active
    client.post(f"/webhooks/{sub.pk}/toggle/")
    sub.refresh_from_db()
    assert sub.active


def test_redeliver_queues_the_same_event_under_a_new_delivery_id(
    client, admin_user, delivered, receiver, django_capture_on_commit_callbacks
):
    _, _, row = delivered
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/webhooks/deliveries/{row.pk}/redeliver/")
    new = WebhookDelivery.objects.exclude(pk=row.pk).get()
    assert r.status_code == 302 and r["Location"] == f"/webhooks/deliveries/{new.pk}/"
    assert new.delivery_id != row.delivery_id
    assert (new.redelivery_of, new.requested_by, new.event_id) == (row, admin_user, row.event_id)
    assert new.status == DeliveryStatus.SENT
    first, again = json.loads(bytes(row.body)), json.loads(bytes(new.body))
    assert again["event"] == first["event"]
    assert again["redelivery_of"] == str(row.delivery_id)
    assert again["delivery_id"] == str(new.delivery_id)
    [got] = receiver.received
    assert got.headers["Idempotency-Key"] == str(new.delivery_id)
    assert got.json == again


def test_a_disabled_subscription_is_not_redelivered(client, admin_user, delivered):
    sub, _, row = delivered
    client.force_login(admin_user)
    client.post(f"/webhooks/{sub.pk}/toggle/")
    r = client.post(f"/webhooks/deliveries/{row.pk}/redeliver/", follow=True)
    assert "The subscription is disabled: enable it to redeliver." in r.content.decode()
    assert WebhookDelivery.objects.count() == 1


def test_unknown_ids_are_404(client, admin_user):
    client.force_login(admin_user)
    assert client.get("/webhooks/999/").status_code == 404
    assert client.get("/webhooks/deliveries/999/").status_code == 404
    assert client.post("/webhooks/deliveries/999/redeliver/").status_code == 404


# --- the log: filters, pages, queries ------------------------------------------


def test_the_log_filters_and_pages(client, admin_user, subscribe, analyst, vendor, other_vendor):
    soc = subscribe(name="SOC", internal=True)
    chat = subscribe(name="Chat", internal=True, event_kinds=["case_opened"])
    first = make_case(Stage.FOUND, actor=analyst, vendor=vendor)  # 3 events
    make_case(Stage.FOUND, actor=analyst, vendor=other_vendor)
    WebhookDelivery.objects.filter(subscription=chat).update(status=DeliveryStatus.FAILED)
    client.force_login(admin_user)

    def count(query: str) -> int:
        return client.get(f"/webhooks/deliveries/?{query}").context["page"].paginator.count

    assert count("") == 8
    assert count(f"subscription={soc.pk}") == 6
    assert count("status=failed") == 2
    assert count(f"case={first.reference.lower()}") == 4
    assert count("kind=case_opened") == 4
    assert count(f"subscription={chat.pk}&status=queued") == 0
    assert count("status=bogus") == 8  # a bad filter is ignored, not a 500

    page = client.get("/webhooks/deliveries/?page=2").context["page"]
    assert (page.number, len(page.object_list)) == (1, 8)  # one page only


def test_the_log_and_the_list_take_a_fixed_number_of_queries(
    client, admin_user, subscribe, analyst, vendor, other_vendor, django_assert_max_num_queries
):
    for n in range(3):
        subscribe(name=f"Hook {n}", internal=True, vendors=[vendor, other_vendor])
    for _ in range(20):  # 3 events each, 3 subscriptions: 180 deliveries, 4 pages
        make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    client.force_login(admin_user)
    # session, user, memberships; the count, the page's rows, the filter's choices
    with django_assert_max_num_queries(6):
        r = client.get("/webhooks/deliveries/?page=2")
    assert len(r.context["page"].object_list) == 50
    # session, user, memberships; the subscriptions, their vendors, their cases
    with django_assert_max_num_queries(6):
        r = client.get("/webhooks/")
    assert r.content.decode().count("/toggle/") == 3
