"""Proving control of a domain: a code mailed to a role address or to the
security.txt contact (a real local HTTP server), a DNS TXT record (a real
UDP DNS server on 127.0.0.1), wrong and expired codes, the attempts cap,
the verification budget."""

import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
from django.core import mail

from disclosure.comms import outbox
from disclosure.comms.models import OutboxMessage
from disclosure.core.errors import NotFound, NotPermitted, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.lookups import services
from disclosure.lookups.limits import RateLimited
from disclosure.lookups.lookup import is_verified
from disclosure.lookups.models import DomainVerification
from disclosure.lookups.securitytxt import parse_contacts
from tests.localhttp import Answer, fake_resolver, local_server

pytestmark = pytest.mark.django_db
REAL_GETADDRINFO = socket.getaddrinfo


def _code_from(message) -> str:
    return re.search(r"The code is: (\d{4})-(\d{4})", message.body).expand(r"\1\2")


def _mail_code(user, domain="northwind.com", address="security@northwind.com", capture=None):
    mail.outbox.clear()
    with capture(execute=True):
        row = services.start_mail_verification(user=user, domain=domain, address=address)
    [sent] = mail.outbox
    return row, sent


# --- by mail --------------------------------------------------------------------


def test_a_code_mailed_to_a_role_address_verifies_the_domain(
    asker, django_capture_on_commit_callbacks
):
    row, sent = _mail_code(asker, capture=django_capture_on_commit_callbacks)
    assert sent.to == ["security@northwind.com"]
    assert "northwind.com" in sent.subject
    assert (row.method, row.address, row.verified_at) == ("role_mail", "security@northwind.com",
                                                          None)  # fmt: skip
    code = _code_from(sent)
    # Only the code's HMAC is stored; the mail's bytes are erased once sent.
    row.refresh_from_db()
    assert code not in row.secret_hash and len(row.secret_hash) == 64
    stored = OutboxMessage.objects.get()
    assert stored.purpose == "invitation" and code[:4].encode() not in bytes(stored.raw or b"")
    assert not is_verified(asker, "northwind.com")
    done = services.confirm_code(user=asker, domain="NORTHWIND.com", code=f"{code[:4]} {code[4:]}")
    assert done.pk == row.pk and done.verified_at is not None and done.secret_hash == ""
    assert done.valid_until - done.verified_at == timedelta(days=90)
    assert is_verified(asker, "northwind.com") and is_verified(asker, "mail.northwind.com")
    assert not is_verified(asker, "fabrikam.com")
    # Used once: the same code again finds nothing waiting.
    with pytest.raises(NotFound):
        services.confirm_code(user=asker, domain="northwind.com", code=code)


def test_the_mail_is_not_kept_readable_after_delivery(asker):
    services.start_mail_verification(user=asker, domain="northwind.com",
                                     address="hostmaster@northwind.com")  # fmt: skip
    stored = OutboxMessage.objects.get()
    assert b"The code is:" in bytes(stored.raw)  # until sent; then erased:
    outbox.deliver(stored.pk)
    stored.refresh_from_db()
    assert b"The code is:" not in bytes(stored.raw or b"")


@pytest.mark.parametrize(
    ("domain", "address", "accepted"),
    [
        ("northwind.com", "security@northwind.com", True),
        ("northwind.com", "ABUSE@NorthWind.com", True),
        ("shop.northwind.com", "webmaster@northwind.com", True),  # a parent's role mailbox
        ("northwind.com", "info@northwind.com", False),  # anyone may read info@
        ("northwind.com", "security@mail.northwind.com", False),  # a subdomain's mailbox
        ("northwind.com", "security@fabrikam.com", False),
        ("northwind.com", "not an address", False),
    ],
)
def test_which_addresses_a_code_may_go_to(asker, domain, address, accepted, settings):
    settings.DISCLOSURE_LOOKUP_SECURITY_TXT_URL = "http://127.0.0.1:9/{domain}"  # nothing there
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = True
    settings.DISCLOSURE_FETCH_TIMEOUT = 2
    if accepted:
        row = services.start_mail_verification(user=asker, domain=domain, address=address)
        assert row.method == "role_mail" and row.address == address.lower()
    else:
        with pytest.raises(ValidationFailed) as exc:
            services.start_mail_verification(user=asker, domain=domain, address=address)
        assert exc.value.field == "address"
        assert not DomainVerification.objects.exists() and not OutboxMessage.objects.exists()


def test_a_wrong_code_counts_and_the_last_try_kills_the_code(
    asker, settings, django_capture_on_commit_callbacks
):
    settings.DISCLOSURE_LOOKUP_CODE_ATTEMPTS = 3
    row, sent = _mail_code(asker, capture=django_capture_on_commit_callbacks)
    right = _code_from(sent)
    wrong = f"{(int(right) + 1) % 10**8:08d}"
    with pytest.raises(ValidationFailed, match="2 tries left") as exc:
        services.confirm_code(user=asker, domain="northwind.com", code=wrong)
    assert exc.value.field == "code"
    row.refresh_from_db()
    assert row.attempts == 1  # the try stays counted
    with pytest.raises(ValidationFailed, match="1 try left"):
        services.confirm_code(user=asker, domain="northwind.com", code=wrong)
    with pytest.raises(TransitionNotAllowed, match="last try"):
        services.confirm_code(user=asker, domain="northwind.com", code=wrong)
    with pytest.raises(NotFound, match="ask for a new one"):
        services.confirm_code(user=asker, domain="northwind.com", code=right)
    assert not is_verified(asker, "northwind.com")


@pytest.mark.parametrize("code", ["", "1234", "123456789", "abcdefgh", "1234\x005678"])
def test_a_malformed_code_is_refused_without_counting(asker, code):
    row = services.start_mail_verification(user=asker, domain="northwind.com",
                                           address="security@northwind.com")  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        services.confirm_code(user=asker, domain="northwind.com", code=code)
    assert exc.value.field == "code"
    row.refresh_from_db()
    assert row.attempts == 0


def test_an_expired_or_superseded_code_is_refused(asker, django_capture_on_commit_callbacks):
    first, sent = _mail_code(asker, capture=django_capture_on_commit_callbacks)
    old = _code_from(sent)
    second, sent = _mail_code(asker, address="postmaster@northwind.com",
                              capture=django_capture_on_commit_callbacks)  # fmt: skip
    new = _code_from(sent)
    first.refresh_from_db()
    assert first.superseded_at is not None
    if old != new:
        with pytest.raises(ValidationFailed, match="Wrong code"):
            services.confirm_code(user=asker, domain="northwind.com", code=old)
    DomainVerification.objects.filter(pk=second.pk).update(pending_until=now())
    with pytest.raises(NotFound):
        services.confirm_code(user=asker, domain="northwind.com", code=new)


def test_another_users_code_does_not_verify_me(
    asker, affected_org, django_capture_on_commit_callbacks
):
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(organization=affected_org, role="vendor_contact").user
    _, sent = _mail_code(asker, capture=django_capture_on_commit_callbacks)
    with pytest.raises(NotFound):
        services.confirm_code(user=colleague, domain="northwind.com", code=_code_from(sent))


def test_the_verification_budget_limits_codes_sent(asker, settings):
    settings.DISCLOSURE_LOOKUP_RATE_VERIFY = "2/hour"
    for _ in range(2):
        services.start_mail_verification(user=asker, domain="northwind.com",
                                         address="security@northwind.com")  # fmt: skip
    with pytest.raises(RateLimited):
        services.start_mail_verification(user=asker, domain="northwind.com",
                                         address="security@northwind.com")  # fmt: skip
    assert OutboxMessage.objects.count() == 2


@pytest.mark.parametrize("who", ["analyst", "outsider"])
def test_only_portal_accounts_may_verify(request, who):
    user = request.getfixturevalue(who)
    with pytest.raises(NotPermitted):
        services.start_mail_verification(user=user, domain="northwind.com",
                                         address="security@northwind.com")  # fmt: skip
    with pytest.raises(NotPermitted):
        services.start_dns_verification(user=user, domain="northwind.com")


@pytest.mark.parametrize("domain", ["azurewebsites.net", "192.0.2.1", "localhost", "github.io"])
def test_a_public_suffix_or_an_ip_cannot_be_verified(asker, domain):
    with pytest.raises(ValidationFailed) as exc:
        services.start_dns_verification(user=asker, domain=domain)
    assert exc.value.field == "domain"


# --- the security.txt contact -----------------------------------------------------

SECURITY_TXT = (
    b"# Our security contacts\n"
    b"Contact: mailto:psirt@northwind.com\n"
    b"contact: mailto:Team%40Sec.Northwind.com?subject=report\n"
    b"Contact: https://northwind.com/report\n"
    b"Contact: mailto:outsourced@bugbounty.com\n"
    b"Expires: 2030-01-01T00:00:00.000Z\n"
)


@pytest.fixture
def security_txt(settings, monkeypatch):
    """northwind.com resolves to a real server on 127.0.0.1 serving its
    security.txt (HTTP on a free port: the URL template is a setting)."""
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = True
    resolver = fake_resolver({"northwind.com": ["127.0.0.1"]}, REAL_GETADDRINFO)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with local_server() as server:
        settings.DISCLOSURE_LOOKUP_SECURITY_TXT_URL = (
            f"http://{{domain}}:{server.port}/.well-known/security.txt"
        )
        server.answers["/.well-known/security.txt"] = Answer(
            200, SECURITY_TXT, {"Content-Type": "text/plain; charset=utf-8"}
        )
        yield server


def test_security_txt_contacts_are_parsed():
    assert parse_contacts(SECURITY_TXT.decode()) == [
        "psirt@northwind.com",
        "team@sec.northwind.com",
        "outsourced@bugbounty.com",
    ]


def test_a_code_goes_to_a_contact_the_security_txt_names(
    asker, security_txt, django_capture_on_commit_callbacks
):
    # Offered: the contacts at the domain or its subdomains, not a third party's.
    assert services.security_txt_contacts(user=asker, domain="northwind.com") == [
        "psirt@northwind.com",
        "team@sec.northwind.com",
    ]
    row, sent = _mail_code(asker, address="psirt@northwind.com",
                           capture=django_capture_on_commit_callbacks)  # fmt: skip
    assert row.method == "security_txt_mail" and sent.to == ["psirt@northwind.com"]
    seen = [r.path for r in security_txt.requests]
    assert seen == ["/.well-known/security.txt"] * 2
    services.confirm_code(user=asker, domain="northwind.com", code=_code_from(sent))
    assert is_verified(asker, "northwind.com")


def test_an_address_the_security_txt_does_not_name_is_refused(asker, security_txt):
    with pytest.raises(ValidationFailed, match="nor a contact named") as exc:
        services.start_mail_verification(user=asker, domain="northwind.com",
                                         address="ceo@northwind.com")  # fmt: skip
    assert exc.value.field == "address"
    with pytest.raises(ValidationFailed, match=r"is not at northwind\.com"):
        services.start_mail_verification(user=asker, domain="northwind.com",
                                         address="outsourced@bugbounty.com")  # fmt: skip
    assert not OutboxMessage.objects.exists()


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(404, b"nope"), "answered 404"),
        (Answer(200, b"<html>", {"Content-Type": "text/html"}), "not text/plain"),
    ],
)
def test_a_missing_security_txt_is_a_clear_refusal(asker, security_txt, answer, message):
    security_txt.answers["/.well-known/security.txt"] = answer
    with pytest.raises(ValidationFailed, match=message):
        services.security_txt_contacts(user=asker, domain="northwind.com")


def test_the_security_txt_fetch_is_guarded(asker, security_txt, settings):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False  # northwind.com -> 127.0.0.1: refused
    with pytest.raises(ValidationFailed, match="could not be read"):
        services.security_txt_contacts(user=asker, domain="northwind.com")
    assert security_txt.requests == []


# --- DNS TXT ----------------------------------------------------------------------


class DnsServer:
    """A tiny authoritative DNS server on 127.0.0.1 (UDP): ``records`` maps
    a name to its TXT strings; other names are NXDOMAIN. ``silent``: it
    reads queries and never answers (a resolver that times out)."""

    def __init__(self) -> None:
        self.records: dict[str, list[str]] = {}
        self.silent = False
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.queries.append(name)
            if self.silent:
                continue
            response = dns.message.make_response(query)
            response.flags |= dns.flags.AA
            if name not in self.records:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT:
                values = [f'"{v}"' for v in self.records[name]]
                response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", *values))
            self.sock.sendto(response.to_wire(), peer)

    def __enter__(self) -> "DnsServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@contextmanager
def dns_server(settings) -> Iterator[DnsServer]:
    with DnsServer() as server:
        settings.DISCLOSURE_LOOKUP_DNS_RESOLVER = f"127.0.0.1:{server.port}"
        settings.DISCLOSURE_LOOKUP_DNS_TIMEOUT = 2.0
        yield server


def test_a_txt_record_verifies_the_domain(asker, settings):
    challenge = services.start_dns_verification(user=asker, domain="NorthWind.com")
    assert challenge.record_name == "_disclosure-verify.northwind.com"
    assert re.fullmatch(r"disclosure-verify=[0-9a-f]{40}", challenge.token)
    row = challenge.verification
    assert challenge.token not in (row.nonce, row.secret_hash, row.address)  # never stored
    again = services.dns_challenge(user=asker, domain="northwind.com")
    assert again.token == challenge.token  # shown again while pending
    with dns_server(settings) as server:
        check = services.check_dns(user=asker, domain="northwind.com")
        assert (check.verified, check.problem) == (
            False,
            "_disclosure-verify.northwind.com does not exist in the DNS (yet).",
        )
        server.records["_disclosure-verify.northwind.com"] = ["v=other", "disclosure-verify=0"]
        check = services.check_dns(user=asker, domain="northwind.com")
        assert not check.verified and "none holds the token" in check.problem
        server.records["_disclosure-verify.northwind.com"].append(challenge.token)
        check = services.check_dns(user=asker, domain="northwind.com")
        assert check.verified and check.problem == ""
        assert server.queries == ["_disclosure-verify.northwind.com"] * 3
    assert check.verification.attempts == 3
    assert is_verified(asker, "northwind.com")
    with pytest.raises(NotFound):  # nothing pending any more
        services.check_dns(user=asker, domain="northwind.com")


def test_a_resolver_that_does_not_answer_is_an_answer_not_an_error(asker, settings):
    services.start_dns_verification(user=asker, domain="northwind.com")
    with dns_server(settings) as server:
        server.silent = True
        settings.DISCLOSURE_LOOKUP_DNS_TIMEOUT = 0.5
        check = services.check_dns(user=asker, domain="northwind.com")
    assert (check.verified, check.problem) == (False, "The DNS resolver did not answer in time.")


def test_another_users_token_does_not_verify_me(asker, affected_org, settings):
    from tests.factories import MembershipFactory

    colleague = MembershipFactory(organization=affected_org, role="vendor_contact").user
    mine = services.start_dns_verification(user=asker, domain="northwind.com")
    services.start_dns_verification(user=colleague, domain="northwind.com")
    with dns_server(settings) as server:
        server.records["_disclosure-verify.northwind.com"] = [mine.token]
        assert not services.check_dns(user=colleague, domain="northwind.com").verified
        assert services.check_dns(user=asker, domain="northwind.com").verified


def test_an_expired_dns_challenge_cannot_be_checked(asker):
    challenge = services.start_dns_verification(user=asker, domain="northwind.com")
    DomainVerification.objects.filter(pk=challenge.verification.pk).update(pending_until=now())
    with pytest.raises(NotFound):
        services.check_dns(user=asker, domain="northwind.com")


def test_the_portal_offers_the_security_txt_contacts(client, asker, security_txt):
    client.force_login(asker)
    page = client.get("/portal/lookup/verify/", {"domain": "northwind.com", "securitytxt": "1"})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'value="psirt@northwind.com"' in text and 'value="team@sec.northwind.com"' in text
    assert "bugbounty" not in text
    security_txt.answers["/.well-known/security.txt"] = Answer(404, b"")
    page = client.get("/portal/lookup/verify/", {"domain": "northwind.com", "securitytxt": "1"})
    assert "answered 404" in page.content.decode()


@pytest.mark.parametrize("value", ["127.0.0.1:x", "127.0.0.1:70000", "dns.example:53", ","])
def test_a_bad_resolver_setting_is_a_configuration_error(settings, value):
    from django.core.exceptions import ImproperlyConfigured

    from disclosure.lookups import dnscheck

    settings.DISCLOSURE_LOOKUP_DNS_RESOLVER = value
    with pytest.raises(ImproperlyConfigured):
        dnscheck.txt_values("_disclosure-verify.northwind.com")


def test_manage_check_reports_bad_lookup_settings(settings):
    from django.core.checks import run_checks

    settings.DISCLOSURE_LOOKUP_RATE_ADDRESS = "sixty an hour"
    settings.DISCLOSURE_LOOKUP_DNS_RESOLVER = "dns.example"
    ids = sorted(e.id for e in run_checks() if e.id.startswith("lookups."))
    assert ids == ["lookups.E001", "lookups.E002"]
    settings.DISCLOSURE_LOOKUP_RATE_ADDRESS = "60/hour"
    settings.DISCLOSURE_LOOKUP_DNS_RESOLVER = "127.0.0.1:5353, [::1]:53"
    assert not [e for e in run_checks() if e.id.startswith("lookups.")]
