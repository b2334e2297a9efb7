"""Who a received message is from and what a bounce says failed
(comms.inbound): the sender checked against the vendor's known addresses,
and the addresses a trustworthy bounce marks undeliverable."""

import re

from disclosure.accounts.models import Organization
from disclosure.cases.models import Case
from disclosure.core.timeutils import now

from . import addresses, runscope
from .classify import Classification
from .eml import storable
from .models import InboundMessage, OutboxMessage, UndeliverableAddress

_ADDRESS = re.compile(r"[^\s<>\"',;]+@[^\s<>\"',;]+")


def mark_undeliverable(kind: Classification, report: InboundMessage) -> tuple[list[str], list[str]]:
    """Record each address ``kind`` (a bounce) says failed as undeliverable,
    with the report, if it was a recipient of the message the report returns
    and Disclosure sent that message (its Message-ID in the outbox): a
    report anyone can forge never makes another address undeliverable.
    Returns (marked, ignored) addresses."""
    sent = None
    if kind.bounced_message_id:
        sent = (
            OutboxMessage.objects.filter(message_id=kind.bounced_message_id)
            .values_list("recipients", flat=True)
            .first()
        )
    ours = {a.lower() for r in (sent or []) for a in _ADDRESS.findall(str(r))}
    marked, ignored = [], []
    for address in kind.failed:
        address = storable(address, 320)
        if not address:
            continue
        if address not in ours:
            ignored.append(address)
            continue
        reason = storable(kind.diagnostics.get(address) or kind.reason, 2000)
        UndeliverableAddress.objects.update_or_create(
            address=address, defaults={"since": now(), "reason": reason, "report": report}
        )
        marked.append(address)
    return marked, ignored


def sender_is_unknown(sender: str, case: Case) -> bool:
    """Whether ``sender`` (a From value) is none of the case vendor's known
    addresses and not at one of its domains."""
    found = _ADDRESS.search(sender or "")
    if found is None:
        return True
    vendor, known = _vendor_addresses(case.vendor_id)
    return not addresses.is_known(found.group(0).lower(), vendor, known)


def _vendor_addresses(vendor_id: int) -> tuple[Organization, list[addresses.KnownAddress]]:
    """The vendor and its known addresses, read once per fetch run."""

    def load() -> tuple[Organization, list[addresses.KnownAddress]]:
        vendor = Organization.objects.get(pk=vendor_id)
        return vendor, addresses.known_addresses(vendor)

    return runscope.remembered(("vendor_addresses", vendor_id), load)
