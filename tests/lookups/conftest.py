"""Fixtures of the verified-lookup tests: an affected organization's portal
account (a vendor organization that holds no case), a notified case whose
affected list mentions two unrelated domains, and helpers."""

import io
from datetime import timedelta

import pytest

from disclosure.affected import importing
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now
from disclosure.lookups.models import DomainVerification, Method
from tests.factories import MembershipFactory, VendorFactory, make_case

# Two domains in one case: northwind.com (the asker's), fabrikam.com
# (someone else's), plus a free-mail address and an IP.
RECORDS = (
    "email,domain,country\n"
    "ann@northwind.com,,DE\n"
    "ann@northwind.com,,DE\n"  # a duplicate: 2 mentions, 1 address
    "bob@mail.northwind.com,,DE\n"
    ",shop.northwind.com,FR\n"
    ",northwind.com,FR\n"
    "eve@fabrikam.com,,US\n"
    "joe@fabrikam.com,,US\n"
    ",portal.fabrikam.com,US\n"
    "someone@gmail.com,,US\n"
    ",192.0.2.7,\n"
    # Same suffix, not a subdomain of the asker's: never counted for it.
    ",notnorthwind.com,US\n"
)


def import_records(case, actor, text: str = RECORDS) -> None:
    batch = importing.start_import(actor=actor, case=case, file=io.BytesIO(text.encode()),
                                   filename="list.csv", format="csv")  # fmt: skip
    importing.run_import(batch_id=batch.pk)


@pytest.fixture
def affected_org(db):
    return VendorFactory(name="Northwind", domain="northwind.com")


@pytest.fixture
def asker(affected_org):
    """A portal account of an affected organization that is not the vendor."""
    return MembershipFactory(organization=affected_org, role="vendor_contact").user


@pytest.fixture
def case(analyst, vendor):
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor,
                     data_categories=["pii", "email_addresses", "other"],
                     data_categories_other="Secret project names")  # fmt: skip
    import_records(case, analyst)
    case.refresh_from_db()
    return case


def verify(user, domain: str, *, days: int = 30) -> DomainVerification:
    """A live verification of ``domain`` for ``user`` (the flow itself is
    tested in test_verification.py)."""
    at = now()
    return DomainVerification.objects.create(
        user=user, domain=domain, method=Method.DNS_TXT, address=f"_disclosure-verify.{domain}",
        nonce="n" * 32, created_at=at, pending_until=at + timedelta(hours=1), verified_at=at,
        valid_until=at + timedelta(days=days),
    )  # fmt: skip


@pytest.fixture
def high_limits(settings):
    settings.DISCLOSURE_LOOKUP_RATE_ACCOUNT = "100000/hour"
    settings.DISCLOSURE_LOOKUP_RATE_ADDRESS = "100000/hour"
    settings.DISCLOSURE_LOOKUP_RATE_VERIFY = "100000/hour"
