"""The lookup service: what a verified domain sees (its own records only),
what every refusal answers (nothing), the ledger event and the audit row,
the rate limits, and the cases searched."""

from datetime import timedelta

import pytest

from disclosure.accounts.models import AccessEvent
from disclosure.affected.models import AffectedList
from disclosure.cases.stages import Stage
from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.ledger.models import CaseEvent
from disclosure.ledger.verify import verify_case
from disclosure.lookups.limits import RateLimited
from disclosure.lookups.lookup import CaseMatch, lookup
from tests.factories import make_case
from tests.lookups.conftest import import_records, verify

pytestmark = pytest.mark.django_db


def _events(case):
    return list(CaseEvent.objects.filter(case=case, kind="affected_lookup").order_by("seq"))


def test_a_verified_domain_sees_its_cases_with_counts_over_its_own_records(case, asker):
    verify(asker, "northwind.com")
    answer = lookup(user=asker, domain="NorthWind.com.", client_address="192.0.2.10")
    assert answer.domain == "northwind.com"
    assert answer.cases == [
        CaseMatch(
            reference=case.reference,
            stage="vendor_notified",
            stage_label="Vendor notified",
            # "other" without the staff's free text
            data_categories=["E-mail addresses", "Other", "Personal data (PII)"],
            mentions=5,  # ann twice, bob, shop., the domain itself
            emails=2,  # ann, bob
            hosts=3,  # northwind.com, mail., shop.
        )
    ]
    assert answer.message == "1 case mentions northwind.com."


def test_a_subdomain_is_counted_alone_and_a_parent_verification_covers_it(case, asker):
    verify(asker, "northwind.com")
    answer = lookup(user=asker, domain="mail.northwind.com")
    assert [(c.mentions, c.emails, c.hosts) for c in answer.cases] == [(1, 1, 1)]


def test_a_verified_domain_never_sees_another_domains_data(case, asker, analyst):
    verify(asker, "northwind.com")
    # fabrikam.com is in the same case: not verified, so nothing.
    assert lookup(user=asker, domain="fabrikam.com").cases == []
    assert lookup(user=asker, domain="portal.fabrikam.com").cases == []
    # A subdomain verification does not cover its parent nor its siblings.
    other = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=case.vendor)
    import_records(other, analyst, "domain\nnorthwind.com\nshop.northwind.com\n")
    sub_only = type(asker).objects.create(username="sub-only")
    from tests.factories import MembershipFactory

    MembershipFactory(user=sub_only, organization=asker.memberships.get().organization,
                      role="vendor_contact")  # fmt: skip
    verify(sub_only, "shop.northwind.com")
    assert lookup(user=sub_only, domain="northwind.com").cases == []
    assert lookup(user=sub_only, domain="mail.northwind.com").cases == []
    shown = lookup(user=sub_only, domain="shop.northwind.com").cases
    assert [(c.reference, c.mentions, c.emails, c.hosts) for c in shown] == [
        (case.reference, 1, 0, 1),
        (other.reference, 1, 0, 1),
    ]
    # notnorthwind.com ends with "northwind.com" but is not under it.
    verify(asker, "notnorthwind.com")
    assert [(c.mentions, c.hosts) for c in lookup(user=asker, domain="notnorthwind.com").cases] == [
        (1, 1)
    ]


def _answer(user, domain="northwind.com"):
    a = lookup(user=user, domain=domain)
    return (a.domain, a.display, a.cases, a.message)


def test_not_verified_not_present_and_disabled_give_the_same_answer(analyst, vendor, asker):
    empty = (
        "northwind.com",
        "northwind.com",
        [],
        "No case we can show you mentions northwind.com.",
    )
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(case, analyst, "domain\nfabrikam.com\n")
    verify(asker, "northwind.com")
    assert _answer(asker) == empty  # verified, not present
    import_records(case, analyst, "domain\nnorthwind.com\n")
    AffectedList.objects.filter(case=case).update(lookups_enabled=False)
    assert _answer(asker) == empty  # verified, present, lookups off
    AffectedList.objects.filter(case=case).update(lookups_enabled=True)
    asker.domain_verifications.update(valid_until=now() - timedelta(seconds=1))
    assert _answer(asker) == empty  # present, on, verification expired
    asker.domain_verifications.all().delete()
    assert _answer(asker) == empty  # never verified
    assert _events(case) == []
    verify(asker, "northwind.com")
    assert _answer(asker) != empty  # the control: all three met


def test_a_match_appends_an_internal_ledger_event_and_every_lookup_an_audit_row(case, asker):
    verify(asker, "northwind.com")
    before = case.ledger_seq
    lookup(user=asker, domain="northwind.com", client_address="192.0.2.10", interface="api")
    lookup(user=asker, domain="fabrikam.com", client_address="192.0.2.10")
    [event] = _events(case)
    assert event.seq == before + 1 and event.internal is True
    assert event.actor_id == asker.pk
    assert event.payload == {
        "domain": "northwind.com",
        "interface": "api",
        "counts": {"mentions": 5, "emails": 2, "hosts": 3},
    }
    case.refresh_from_db()
    assert case.ledger_seq == event.seq and case.ledger_head == event.hash
    assert verify_case(case).ok
    rows = list(AccessEvent.objects.filter(kind="lookup").order_by("id"))
    assert [(r.user_id, r.address, r.interface, r.detail) for r in rows] == [
        (asker.pk, "192.0.2.10", "api",
         {"domain": "northwind.com", "verified": True, "cases": [case.reference]}),
        (asker.pk, "192.0.2.10", "portal",
         {"domain": "fabrikam.com", "verified": False, "cases": []}),
    ]  # fmt: skip


def test_cases_not_yet_notified_or_closed_as_invalid_are_not_searched(analyst, lead, vendor, asker):
    verify(asker, "northwind.com")
    found = make_case(Stage.FOUND, actor=analyst, vendor=vendor)
    import_records(found, analyst, "domain\nnorthwind.com\n")
    assert lookup(user=asker, domain="northwind.com").cases == []
    closed = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(closed, analyst, "domain\nnorthwind.com\n")
    from disclosure.cases import services

    services.close_case(actor=lead, case=closed, reason="invalid", note="Not a real exposure",
                        occurred_at=now())  # fmt: skip
    assert lookup(user=asker, domain="northwind.com").cases == []


def test_the_account_budget_then_the_address_budget(case, asker, settings, affected_org):
    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "3/hour"
    settings.DISCLOSURE_LOOKUP_RATE_ADDRESS = "5/hour"
    for _ in range(3):
        lookup(user=asker, domain="northwind.com", client_address="192.0.2.1")
    with pytest.raises(RateLimited) as exc:
        lookup(user=asker, domain="northwind.com", client_address="192.0.2.99")
    assert exc.value.http_status == 429 and 0 < exc.value.retry_after <= 3600
    assert "Too many lookups" in exc.value.message
    # Another account from the same address: the address's budget (5) runs out.
    from tests.factories import MembershipFactory

    second = MembershipFactory(organization=affected_org, role="vendor_contact").user
    lookup(user=second, domain="northwind.com", client_address="192.0.2.1")
    lookup(user=second, domain="northwind.com", client_address="192.0.2.1")
    with pytest.raises(RateLimited):
        lookup(user=second, domain="northwind.com", client_address="192.0.2.1")
    # Another address: allowed (the refused try counted against the account: 3 of 3).
    third = MembershipFactory(organization=affected_org, role="vendor_contact").user
    lookup(user=third, domain="northwind.com", client_address="192.0.2.2")
    with pytest.raises(RateLimited):
        lookup(user=second, domain="northwind.com", client_address="192.0.2.2")
    limited = AccessEvent.objects.filter(kind="lookup", detail__outcome="rate_limited")
    assert limited.count() == 3


def test_without_a_cache_the_budget_is_counted_from_the_audit(case, asker, settings, monkeypatch):
    from disclosure.core import counters

    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "2/hour"
    monkeypatch.setattr(counters, "spend", lambda budgets, at=None: None)
    lookup(user=asker, domain="northwind.com")
    lookup(user=asker, domain="northwind.com")
    with pytest.raises(RateLimited):
        lookup(user=asker, domain="northwind.com")


@pytest.mark.parametrize("who", ["analyst", "outsider", "anonymous"])
def test_only_portal_accounts_may_look_up(request, case, who):
    from django.contrib.auth.models import AnonymousUser

    user = AnonymousUser() if who == "anonymous" else request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        lookup(user=user, domain="northwind.com")
    assert not AccessEvent.objects.filter(kind="lookup").exists()


@pytest.mark.parametrize(
    ("domain", "message"),
    [
        ("", "Enter a domain"),
        ("192.0.2.1", "IP address"),
        ("azurewebsites.net", "public suffix"),
        ("co.uk", "public suffix"),
        ("a..b", "not a valid host name"),
        ("x\x00.com", "NUL"),
    ],
)
def test_bad_domains_are_refused_before_anything_is_spent_or_written(asker, domain, message):
    with pytest.raises(ValidationFailed, match=message) as exc:
        lookup(user=asker, domain=domain)
    assert exc.value.field == "domain"
    assert not AccessEvent.objects.filter(kind="lookup").exists()


def test_a_bad_client_address_is_a_domain_error(asker):
    with pytest.raises(ValidationFailed) as exc:
        lookup(user=asker, domain="northwind.com", client_address="not-an-ip")
    assert exc.value.field == "client_address"


def test_every_refusal_runs_the_same_statements(analyst, vendor, affected_org):
    """Comparable work: the same statements (by their SQL shape) whether the
    asker is not verified, the domain is absent or the case's lookups are off."""
    import re

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import MembershipFactory

    present = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(present, analyst, "domain\nnorthwind.com\nshop.northwind.com\n")
    off = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    import_records(off, analyst, "domain\ntailspin.com\n")
    AffectedList.objects.filter(case=off).update(lookups_enabled=False)
    asks = {"not verified": "northwind.com", "not present": "absent.com",
            "lookups off": "tailspin.com"}  # fmt: skip
    shapes = {}
    for name, domain in asks.items():
        user = MembershipFactory(organization=affected_org, role="vendor_contact").user
        if name != "not verified":
            verify(user, domain)
        with CaptureQueriesContext(connection) as ctx:
            assert lookup(user=user, domain=domain, client_address="192.0.2.5").cases == []
        # The statements with their literals blanked out (ids, names, times).
        blank = re.compile(r"'[^']*'|\bs\d+_x\d+\b|\b\d+\b")
        shapes[name] = [blank.sub("?", q["sql"]) for q in ctx.captured_queries]
    assert shapes["not verified"] == shapes["not present"] == shapes["lookups off"]
    assert 3 <= len(shapes["not present"]) <= 8


def test_a_case_switched_off_after_the_query_is_left_out_under_its_lock(case, asker):
    """The switch is read again once the case is locked: a case turned off
    between the records' query and the lock gets no event and is not shown."""
    from django.db import transaction

    from disclosure.lookups.lookup import _logged, _matches

    rows = _matches("northwind.com", "northwind.com")
    assert [r["case_id"] for r in rows] == [case.pk]
    AffectedList.objects.filter(case=case).update(lookups_enabled=False)
    with transaction.atomic():
        assert _logged(asker, "northwind.com", "portal", rows) == []
    assert _events(case) == []


@pytest.mark.redis
def test_the_budgets_are_counted_in_the_shared_redis_cache(case, asker, settings, redis_cache):
    """With the production cache every process spends one budget: the count
    is in Redis, where another process (here a plain client) sees it."""
    client_redis, prefix = redis_cache
    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "2/hour"
    for _ in range(2):
        lookup(user=asker, domain="northwind.com", client_address="192.0.2.3")
    (key,) = list(client_redis.scan_iter(f"{prefix}:*:lookup:account:{asker.pk}:*"))
    assert int(client_redis.get(key)) == 2
    (key,) = list(client_redis.scan_iter(f"{prefix}:*:lookup:address:192.0.2.3:*"))
    assert int(client_redis.get(key)) == 7  # a lease: an eighth of the 60 (core.counters)
    with pytest.raises(RateLimited):
        lookup(user=asker, domain="northwind.com", client_address="192.0.2.3")


def test_an_unreachable_cache_still_limits(case, asker, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5},
        }
    }
    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "1/hour"
    lookup(user=asker, domain="northwind.com")
    with pytest.raises(RateLimited):
        lookup(user=asker, domain="northwind.com")


def test_the_staff_switch_turns_a_cases_lookups_off_and_on(case, asker, analyst):
    """Through the affected app's own service (affected.grouping)."""
    from disclosure.affected.grouping import set_lookups_enabled

    verify(asker, "northwind.com")
    set_lookups_enabled(actor=analyst, case=case, enabled=False)
    assert lookup(user=asker, domain="northwind.com").cases == []
    set_lookups_enabled(actor=analyst, case=case, enabled=True)
    assert [c.reference for c in lookup(user=asker, domain="northwind.com").cases] == [
        case.reference
    ]
    assert len(_events(case)) == 1
