"""Nobody whose address a delivery report marked undeliverable
(``UndeliverableAddress``) is told anything: no notice, no mail, whether they
chose immediate mail or the digest; everyone else still is."""

import pytest
from django.core import mail

from disclosure.accounts.models import User
from disclosure.comms.models import Notice, UndeliverableAddress
from disclosure.comms.notices import deliverable
from disclosure.core.timeutils import now
from tests.comms.test_notices import _message
from tests.factories import MembershipFactory, make_case

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DISCLOSURE_SITE_URL = "http://notices.example"
    settings.DISCLOSURE_FIRM_NAME = "Research Firm"
    settings.DISCLOSURE_REPLY_ADDRESS = "case+{reference}@firm.example"


@pytest.fixture
def case(analyst, vendor, lead):
    return make_case("vendor_notified", actor=analyst, vendor=vendor, title="Exposed bucket")


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """Run ``fn`` as a committed change; the mail that left, as (to, subject, body)."""

    def run(fn, *args, **kwargs):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            fn(*args, **kwargs)
        return [(m.to, m.subject, m.body) for m in mail.outbox]

    return run


def _undeliverable(address: str) -> None:
    UndeliverableAddress.objects.create(address=address, since=now(), reason="550 no such user")


def test_a_lead_whose_address_bounced_is_not_told(case, firm, lead, vendor_contact, sent):
    second = MembershipFactory(organization=firm, role="lead", user__email="kim@firm.example").user
    _undeliverable(lead.email.upper())  # compared without case
    mails = sent(_message, vendor_contact, case)
    assert mails and [to for to, _, _ in mails] == [["kim@firm.example"]]
    assert list(Notice.objects.values_list("user_id", flat=True)) == [second.pk]


def test_a_digest_reader_whose_address_bounced_gets_no_notice(
    case,
    lead,
    vendor_contact,
    sent,
):
    User.objects.filter(pk=lead.pk).update(mail_delivery=User.MailDelivery.DIGEST)
    _undeliverable(lead.email)
    assert sent(_message, vendor_contact, case) == []
    assert not Notice.objects.exists()


def test_a_vendor_contact_whose_address_bounced_is_not_told(
    case,
    analyst,
    vendor,
    vendor_contact,
    sent,
):
    other = MembershipFactory(
        organization=vendor, role="vendor_contact", user__email="ops@contoso.example"
    ).user
    _undeliverable(vendor_contact.email)
    mails = sent(_message, analyst, case, direction="outbound")
    assert [to for to, _, _ in mails] == [[other.email]]


def test_deliverable_keeps_the_order_and_asks_nothing_without_addresses(
    django_assert_num_queries,
):
    kept = User(username="a", email="a@x.example")
    gone = User(username="b", email="B@x.example")
    nobody = User(username="c", email="")
    _undeliverable("b@x.example")
    with django_assert_num_queries(1):
        assert deliverable([kept, gone, nobody]) == [kept, nobody]
    with django_assert_num_queries(0):
        assert deliverable([nobody]) == [nobody]
