"""Proving control of a domain, for the verified lookup (lookups.lookup).

Who: a portal account (an active vendor contact without a staff role;
``access.can_use_portal``). Which domain: a host name at or below a
registrable domain (affected.normalize), never an IP address nor a public
suffix (``azurewebsites.net`` would cover every customer's app). A
verification covers the domain and its subdomains within the same
registrable domain, for DISCLOSURE_LOOKUP_VERIFIED_DAYS.

How:
- ``start_mail_verification``: a code mailed to an RFC 2142 role mailbox at
  the domain or a parent of it (``ROLE_MAILBOXES``), or to a mailto contact
  the domain's security.txt names (fetched through the guarded client) at
  the domain, a parent or a subdomain of it; ``confirm_code`` with the code.
  The code (8 digits) lives DISCLOSURE_LOOKUP_CODE_MINUTES and allows
  DISCLOSURE_LOOKUP_CODE_ATTEMPTS tries; only its HMAC is stored, and the
  mail goes through the outbox with the invitation's secret purpose, so its
  bytes are erased once sent;
- ``start_dns_verification``: a token to publish as a TXT record at
  ``_disclosure-verify.<domain>``; ``check_dns`` asks the configured
  resolver. The token is derived from the row's nonce with the secret key,
  never stored.

A new start supersedes the user's pending challenges for the domain. Every
step that sends mail or asks the network spends the account's verification
budget (lookups.limits). Errors are domain errors only.
"""

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.utils.crypto import salted_hmac

from disclosure.accounts.models import User
from disclosure.affected.normalize import normalise_host
from disclosure.cases import access
from disclosure.comms import outbox
from disclosure.comms.models import OutboxPurpose
from disclosure.core.errors import NotFound, NotPermitted, TransitionNotAllowed, ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text, validated

from . import dnscheck, securitytxt
from .domains import covering_names, normalise_domain
from .limits import spend_verification_step
from .models import DomainVerification, Method

# RFC 2142 mailboxes whose readers run the domain's service or security
# (section 4 and 5: ABUSE, NOC, SECURITY; POSTMASTER, HOSTMASTER, WEBMASTER).
# Not INFO, SALES, MARKETING or SUPPORT: anyone may read those.
ROLE_MAILBOXES = ("security", "abuse", "noc", "postmaster", "hostmaster", "webmaster")
DNS_LABEL = "_disclosure-verify"
CODE_DIGITS = 8


@dataclass(frozen=True)
class DnsChallenge:
    """What to publish: a TXT record called ``record_name`` holding ``token``."""

    verification: DomainVerification
    record_name: str
    token: str


@dataclass(frozen=True)
class DnsCheck:
    """The outcome of a DNS check: verified, or why not (yet)."""

    verification: DomainVerification
    verified: bool
    problem: str = ""


def require_portal_user(user: User) -> None:
    """NotPermitted unless ``user`` may use the portal (lookups are theirs)."""
    if not access.can_use_portal(user):
        raise NotPermitted(
            "Only signed-in portal accounts (vendor contacts) may verify domains and look them up.",
            field="user",
        )


def _hash(nonce: str, code: str) -> str:
    return salted_hmac("disclosure.lookups.code", f"{nonce}:{code}", algorithm="sha256").hexdigest()


def dns_token(verification: DomainVerification) -> str:
    """The TXT value a DNS verification waits for (derived, never stored)."""
    value = f"{verification.nonce}:{verification.user_id}:{verification.domain}"
    digest = salted_hmac("disclosure.lookups.dns", value, algorithm="sha256").hexdigest()
    return f"disclosure-verify={digest[:40]}"


def record_name(domain: str) -> str:
    return f"{DNS_LABEL}.{domain}"


def _supersede(user: User, domain: str, at) -> None:
    DomainVerification.objects.filter(
        user=user, domain=domain, verified_at__isnull=True, superseded_at__isnull=True
    ).update(superseded_at=at)


def _pending(user: User, domain: str, methods: tuple[str, ...]) -> DomainVerification | None:
    """The user's live challenge for ``domain`` by one of ``methods``, locked."""
    return (
        DomainVerification.objects.select_for_update()
        .filter(user=user, domain=domain, method__in=methods, verified_at__isnull=True,
                superseded_at__isnull=True, pending_until__gt=now())
        .order_by("-created_at", "-id")
        .first()
    )  # fmt: skip


def _verified(row: DomainVerification) -> DomainVerification:
    at = now()
    row.verified_at = at
    row.valid_until = at + timedelta(days=settings.DISCLOSURE_LOOKUP_VERIFIED_DAYS)
    row.secret_hash = ""
    row.save(update_fields=["verified_at", "valid_until", "secret_hash", "attempts"])
    return row


def mail_method(domain: str, address: str) -> str | None:
    """ROLE_MAIL when ``address`` is a role mailbox at ``domain`` or a parent
    of it (within its registrable domain), else None."""
    local, _, host = address.rpartition("@")
    if local in ROLE_MAILBOXES and host in covering_names(domain):
        return Method.ROLE_MAIL
    return None


def _related(domain: str, host: str) -> bool:
    """``host`` is ``domain``, a parent within its registrable domain, or a subdomain."""
    return host in covering_names(domain) or host.endswith("." + domain)


def _clean_address(value: str) -> str:
    text = clean_text(value, field="address", label="address", required=True,
                      message="Choose the address the code goes to.").strip()  # fmt: skip
    try:
        validate_email(text)
    except ValidationError:
        raise ValidationFailed(f"{text!r} is not an e-mail address.", field="address") from None
    local, _, host = text.rpartition("@")
    try:
        parsed = normalise_host(host)
    except ValidationFailed as e:
        raise ValidationFailed(e.message, field="address") from None
    if parsed.is_ip:
        raise ValidationFailed(f"{text!r}: an address at an IP address.", field="address")
    return f"{local.lower()}@{parsed.name}"


def security_txt_contacts(*, user: User, domain: str) -> list[str]:
    """The mailto contacts of ``domain``'s security.txt that a code may go
    to (at the domain, a parent or a subdomain of it). Spends a verification
    step; ValidationFailed when the file cannot be read."""
    require_portal_user(user)
    name = normalise_domain(domain)
    spend_verification_step(user)
    return [a for a in securitytxt.fetch_contacts(name) if _related(name, a.rpartition("@")[2])]


@validated
def start_mail_verification(*, user: User, domain: str, address: str) -> DomainVerification:
    """Mail a fresh code for ``domain`` to ``address``, which must be a role
    mailbox (ROLE_MAILBOXES) at the domain or a parent of it, or a contact
    the domain's security.txt names. Supersedes the user's pending
    challenges for the domain; the code's HMAC only is stored and the mail's
    bytes are erased once sent. Spends a verification step."""
    require_portal_user(user)
    name = normalise_domain(domain)
    addr = _clean_address(address)
    spend_verification_step(user)
    method = mail_method(name, addr)
    if method is None:
        if not _related(name, addr.rpartition("@")[2]):
            raise ValidationFailed(
                f"{addr} is not at {name}: use one of "
                f"{', '.join(f'{r}@{name}' for r in ROLE_MAILBOXES)}, or a contact at {name} "
                "that its security.txt names.",
                field="address",
            )
        if addr not in securitytxt.fetch_contacts(name):
            raise ValidationFailed(
                f"{addr} is neither a role mailbox ({', '.join(r + '@' for r in ROLE_MAILBOXES)}) "
                f"nor a contact named in {securitytxt.url_for(name)}.",
                field="address",
            )
        method = Method.SECURITY_TXT_MAIL
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    minutes = int(settings.DISCLOSURE_LOOKUP_CODE_MINUTES)
    with transaction.atomic():
        at = now()
        _supersede(user, name, at)
        nonce = secrets.token_hex(16)
        row = DomainVerification.objects.create(
            user=user, domain=name, method=method, address=addr, nonce=nonce,
            secret_hash=_hash(nonce, code), created_at=at,
            pending_until=at + timedelta(minutes=minutes),
        )  # fmt: skip
        who = user.get_full_name() or user.get_username()
        message = EmailMessage(
            subject=f"{settings.DISCLOSURE_FIRM_NAME}: code to verify {name}",
            body=(
                f"{who} ({user.email or 'no address given'}) asked to prove control of {name} "
                f"to {settings.DISCLOSURE_FIRM_NAME}, to look up whether disclosure cases "
                f"mention {name}.\n\n"
                f"The code is: {code[:4]}-{code[4:]}\n\n"
                f"It works for {minutes} minutes. Give it to them only if they may act for "
                f"{name}. If nobody of yours asked, ignore this message: nothing is shown "
                "to anyone without the code."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[addr],
        )
        outbox.enqueue(purpose=OutboxPurpose.INVITATION, message=message)
    return row


def _clean_code(code: str) -> str:
    text = clean_text(code, field="code", label="code", required=True,
                      message="Enter the code from the mail.")  # fmt: skip
    digits = "".join(c for c in text if c not in " -")
    if not (digits.isascii() and digits.isdigit() and len(digits) == CODE_DIGITS):
        raise ValidationFailed(f"The code is {CODE_DIGITS} digits.", field="code")
    return digits


@validated
def confirm_code(*, user: User, domain: str, code: str) -> DomainVerification:
    """Verify ``domain`` with the code mailed for it. Each try counts (and
    stays counted when wrong); after DISCLOSURE_LOOKUP_CODE_ATTEMPTS wrong
    tries, or once expired, the code is dead: NotFound says to ask anew.
    A wrong code is ValidationFailed saying how many tries are left."""
    require_portal_user(user)
    name = normalise_domain(domain)
    digits = _clean_code(code)
    limit = int(settings.DISCLOSURE_LOOKUP_CODE_ATTEMPTS)
    with transaction.atomic():
        row = _pending(user, name, (Method.ROLE_MAIL, Method.SECURITY_TXT_MAIL))
        if row is None or row.attempts >= limit or not row.secret_hash:
            raise NotFound(f"No code for {name} is waiting: ask for a new one.", field="code")
        row.attempts += 1
        if hmac.compare_digest(row.secret_hash, _hash(row.nonce, digits)):
            return _verified(row)
        row.save(update_fields=["attempts"])
        left = limit - row.attempts
    # Outside the block: the counted try is committed before the refusal.
    if left <= 0:
        raise TransitionNotAllowed(
            f"Wrong code, and that was the last try: ask for a new code for {name}."
        )
    raise ValidationFailed(
        f"Wrong code: {left} tr{'ies' if left != 1 else 'y'} left.", field="code"
    )


@validated
def start_dns_verification(*, user: User, domain: str) -> DnsChallenge:
    """A fresh DNS challenge for ``domain``: publish ``token`` as a TXT
    record at ``record_name`` within DISCLOSURE_LOOKUP_DNS_PENDING_HOURS,
    then ``check_dns``. Supersedes the user's pending challenges for it."""
    require_portal_user(user)
    name = normalise_domain(domain)
    hours = int(settings.DISCLOSURE_LOOKUP_DNS_PENDING_HOURS)
    with transaction.atomic():
        at = now()
        _supersede(user, name, at)
        row = DomainVerification.objects.create(
            user=user, domain=name, method=Method.DNS_TXT, address=record_name(name),
            nonce=secrets.token_hex(16), created_at=at, pending_until=at + timedelta(hours=hours),
        )  # fmt: skip
    return DnsChallenge(verification=row, record_name=record_name(name), token=dns_token(row))


def dns_challenge(*, user: User, domain: str) -> DnsChallenge | None:
    """The user's pending DNS challenge for ``domain`` (to show it again), or None."""
    name = normalise_domain(domain)
    row = (
        DomainVerification.objects.filter(user=user, domain=name, method=Method.DNS_TXT,
                                          verified_at__isnull=True, superseded_at__isnull=True,
                                          pending_until__gt=now())
        .order_by("-created_at", "-id")
        .first()
    )  # fmt: skip
    if row is None:
        return None
    return DnsChallenge(verification=row, record_name=record_name(name), token=dns_token(row))


@validated
def check_dns(*, user: User, domain: str) -> DnsCheck:
    """Ask the resolver for the TXT records at ``_disclosure-verify.<domain>``:
    verified when one holds the pending challenge's token. Not finding it
    (yet) is an answer, not an error (``problem`` says why). NotFound when
    no DNS challenge is pending. Spends a verification step."""
    require_portal_user(user)
    name = normalise_domain(domain)
    challenge = dns_challenge(user=user, domain=name)
    if challenge is None:
        raise NotFound(f"No DNS challenge for {name} is waiting: start one.", field="domain")
    spend_verification_step(user)
    answer = dnscheck.txt_values(challenge.record_name)
    expected = challenge.token.encode()
    found = any(hmac.compare_digest(v.strip().encode(), expected) for v in answer.values)
    with transaction.atomic():
        row = _pending(user, name, (Method.DNS_TXT,))
        if row is None or row.pk != challenge.verification.pk:
            raise NotFound(f"No DNS challenge for {name} is waiting: start one.", field="domain")
        row.attempts = min(row.attempts + 1, 32767)
        if found:
            return DnsCheck(verification=_verified(row), verified=True)
        row.save(update_fields=["attempts"])
    problem = answer.problem or (
        f"{challenge.record_name} has TXT records, but none holds the token."
    )
    return DnsCheck(verification=row, verified=False, problem=problem)
