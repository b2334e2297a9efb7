"""The verified lookup: which cases mention a domain the asker controls.

``lookup`` answers a portal account with, per case that mentions the domain
(or a subdomain of it, within its registrable domain): the reference, the
stage, the data categories (by their labels; "other" without its free text)
and three counts computed over those records only: mentions, distinct
e-mail addresses (by their keyed hash) and distinct hosts. Never another
domain's rows, never an address.

A case is searched when the vendor was notified (coordinated disclosure:
the vendor hears first), it was not closed as invalid or duplicate, and its
lookups are on (``AffectedList.lookups_enabled``; a case without that row
has no records, so nothing to find either way).

"Not verified", "not present" and "lookups off" are one answer: an empty
one. The work does not tell them apart either: every lookup reads the
asker's verifications, then reads the hosts of the searchable cases
(lookups off excludes the case inside the query, before any host is read)
for the domain when verified, or for a name no host can hold when not, so
that nothing is read for an unverified asker; then writes one access-audit
row. Only when some host matches are its records read (their distinct
addresses). Only a match appends, per case and under
its lock, an internal ``affected_lookup`` ledger event.

Rate limits (lookups.limits) come first: per account and per client address.
"""

import ipaddress
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from disclosure.accounts import audit
from disclosure.accounts.models import AccessEvent, User
from disclosure.affected.counting import emails_at
from disclosure.affected.models import AffectedHost, AffectedList
from disclosure.affected.normalize import display_host
from disclosure.cases.models import Case, DataCategory
from disclosure.cases.stages import CloseReason, Stage
from disclosure.core.errors import ValidationFailed
from disclosure.core.timeutils import now
from disclosure.core.validation import validated
from disclosure.ledger.bulk import NewEvent, append_many, lock_cases
from disclosure.ledger.models import EventKind

from .domains import covering_names, normalise_domain, registrable
from .limits import RateLimited, spend_lookup
from .models import DomainVerification
from .services import require_portal_user

# A registrable domain no normalised record holds (the unverified asker's query).
_NO_DOMAIN = "."
_CATEGORY_LABELS = {**dict(DataCategory.choices), DataCategory.OTHER: "Other"}
INTERFACES = ("portal", "api")


@dataclass(frozen=True)
class CaseMatch:
    reference: str
    stage: str
    stage_label: str
    data_categories: list[str]
    mentions: int
    emails: int
    hosts: int


@dataclass(frozen=True)
class LookupAnswer:
    """``domain`` as normalised (ASCII), ``display`` in Unicode, and the
    cases (empty for every refusal)."""

    domain: str
    display: str
    cases: list[CaseMatch] = field(default_factory=list)

    @property
    def message(self) -> str:
        if not self.cases:
            return f"No case we can show you mentions {self.display}."
        n = len(self.cases)
        return f"{n} case{'s' if n != 1 else ''} mention{'' if n != 1 else 's'} {self.display}."


def is_verified(user: User, name: str) -> bool:
    """Whether ``user`` holds a live verification of ``name`` or a parent."""
    return DomainVerification.objects.filter(
        user=user, domain__in=covering_names(name), verified_at__isnull=False,
        valid_until__gt=now(),
    ).exists()  # fmt: skip


def searchable_cases():
    """The cases a lookup searches (see the module docstring)."""
    off = AffectedList.objects.filter(case_id=OuterRef("pk"), lookups_enabled=False)
    return (
        Case.objects.filter(vendor_notified_at__isnull=False)
        .exclude(close_reason__in=[CloseReason.INVALID, CloseReason.DUPLICATE])
        .filter(~Exists(off))
    )


def _matches(name: str, top: str) -> list[dict]:
    """Per searchable case, the counts over its records whose host is
    ``name`` or under it, in the registrable domain ``top``: the case's
    hosts first (one query; the hosts and mentions), then, only if some
    match, their distinct addresses (one query over those records)."""
    hosts = (
        AffectedHost.objects.filter(case_id__in=searchable_cases().values("pk"), domain=top)
        .filter(Q(host=name) | Q(host__endswith="." + name))
        .values_list("case_id", "case__reference", "spelling", "host", "mentions")
        .order_by("case__reference", "spelling")
    )
    found: dict[int, dict] = {}
    spellings: dict[int, list[str]] = {}
    for case_id, reference, spelling, host, mentions in hosts:
        row = found.setdefault(case_id, {"case_id": case_id, "case__reference": reference,
                                         "mentions": 0, "hosts": set()})  # fmt: skip
        row["mentions"] += mentions
        row["hosts"].add(host)
        spellings.setdefault(case_id, []).append(spelling)
    emails = emails_at(spellings)
    return [
        {**row, "hosts": len(row["hosts"]), "emails": emails.get(case_id, 0)}
        for case_id, row in found.items()
    ]


def _categories(values) -> list[str]:
    return [str(_CATEGORY_LABELS[v]) for v in values or [] if v in _CATEGORY_LABELS]


def _address(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise ValidationFailed(
            "The client address is not an IP address.", field="client_address"
        ) from None


def _logged(user: User, name: str, interface: str, rows: list[dict]) -> list[CaseMatch]:
    """Lock the matched cases (in id order, two queries) and append an
    internal ``affected_lookup`` event to each (a fixed number of queries):
    the matches to show. A case no longer searchable once locked, or whose
    row no longer matches its ledger, gets no event and is left out of the
    answer (verify_ledger reports the latter)."""
    # Searchable still, under the lock (the switch may have been turned off since).
    still = Q(pk__in=searchable_cases().values("pk"))
    locked = {c.pk: c for c in lock_cases([r["case_id"] for r in rows], where=still).cases}
    matches, events = [], []
    for r in rows:
        case = locked.get(r["case_id"])
        if case is None:
            continue
        match = CaseMatch(
            reference=case.reference,
            stage=case.stage,
            stage_label=str(Stage(case.stage).label),
            data_categories=_categories(case.data_categories),
            mentions=r["mentions"],
            emails=r["emails"],
            hosts=r["hosts"],
        )
        matches.append(match)
        counts = {"mentions": match.mentions, "emails": match.emails, "hosts": match.hosts}
        events.append(NewEvent(case=case, kind=EventKind.AFFECTED_LOOKUP, internal=True,
                               payload={"domain": name, "interface": interface,
                                        "counts": counts}))  # fmt: skip
    append_many(events, actor=user)
    return matches


@validated
def lookup(
    *, user: User, domain: str, client_address: str | None = None, interface: str = "portal"
) -> LookupAnswer:
    """The cases that mention ``domain`` as ``user`` may see them (see the
    module docstring): an empty answer unless the user verified the domain
    or a parent, the cases mention it, and their lookups are on. Refused
    with RateLimited over the account's or the address's budget (audited
    too). Writes one access-audit ``lookup`` row, and per matched case an
    internal ``affected_lookup`` ledger event with the counts shown."""
    require_portal_user(user)
    if interface not in INTERFACES:
        raise ValidationFailed("Unknown interface.", field="interface")
    name = normalise_domain(domain)
    address = _address(client_address) or audit.current_address()
    try:
        spend_lookup(user, address)
    except RateLimited:
        audit.record(AccessEvent.Kind.LOOKUP, user=user, interface=interface, address=address,
                     domain=name, outcome="rate_limited")  # fmt: skip
        raise
    verified = is_verified(user, name)
    rows = _matches(name, registrable(name) if verified else _NO_DOMAIN)
    with transaction.atomic():
        matches = _logged(user, name, interface, rows) if rows else []
        audit.record(AccessEvent.Kind.LOOKUP, user=user, interface=interface, address=address,
                     domain=name, verified=verified,
                     cases=[m.reference for m in matches])  # fmt: skip
    return LookupAnswer(domain=name, display=display_host(name), cases=matches)
