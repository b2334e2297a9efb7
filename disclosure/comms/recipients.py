"""Per-recipient delivery state of an outbox message
(``OutboxMessage.delivery_recipients``).

One entry per envelope recipient, in envelope order: ``address``, ``kind``
(``to``, ``cc`` or ``bcc``), ``state`` and ``answer`` (the server's words
about that recipient, ``""`` until it has spoken):

- ``pending``: not delivered yet (queued, or the last attempt stopped before
  the server took the message: the answer then says why);
- ``accepted``: the server took the message for this recipient (its RCPT
  answer, once the message itself was accepted);
- ``refused``: the server refused this recipient (5xx to its RCPT), or the
  message failed for good (refused at MAIL or DATA, or out of attempts: the
  answer is the message's error).

The outbox writes the states in the same UPDATE as the message's status, so
they never disagree with it. A message whose server accepted some
recipients and refused others is sent, once: the refused ones are recorded,
never retried, and the accepted ones never get it again.
"""

from __future__ import annotations

from email.utils import getaddresses
from typing import Any

PENDING = "pending"
ACCEPTED = "accepted"
REFUSED = "refused"
STATES = (PENDING, ACCEPTED, REFUSED)
KINDS = ("to", "cc", "bcc")

# What the outbox learnt of each address in one attempt: (state, answer).
Outcome = dict[str, tuple[str, str]]


def initial(message) -> list[dict[str, Any]]:
    """Every envelope recipient of the EmailMessage ``message`` (to, cc,
    bcc, in that order, as ``outbox.envelope_recipients`` lists them), pending."""
    rows = []
    for kind in KINDS:
        for _, address in getaddresses(list(getattr(message, kind, None) or [])):
            if address:
                rows.append({"address": address, "kind": kind, "state": PENDING, "answer": ""})
    return rows


def reply_text(code: int, reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return f"{code} {text}".strip()[:500]


def merged(entries: list[dict[str, Any]], outcome: Outcome, *, rest: tuple[str, str] | None = None):
    """``entries`` with what one attempt learnt (``outcome``, by address);
    ``rest``: the (state, answer) of every address the attempt said nothing
    of (``None``: left as they were). A new list; ``entries`` is not changed."""
    out = []
    for entry in entries:
        entry = dict(entry)
        found = outcome.get(entry["address"])
        if found is None:
            found = rest
        if found is not None:
            entry["state"], entry["answer"] = found[0], found[1][:500]
        out.append(entry)
    return out


def after_acceptance(entries: list[dict[str, Any]], outcome: Outcome, answer: str):
    """The states once the server accepted the message (250 to DATA): every
    recipient it did not refuse is accepted (with its RCPT answer, else the
    DATA answer, as for a backend that takes messages whole)."""
    accepted = {
        a: (s, t) if s == REFUSED else (ACCEPTED, t or answer) for a, (s, t) in outcome.items()
    }
    return merged(entries, accepted, rest=(ACCEPTED, answer))


def after_attempt(entries: list[dict[str, Any]], outcome: Outcome, *, final: bool, error: str):
    """The states after an attempt that did not end with the message
    accepted: a recipient refused for good (5xx) stays refused; the others
    are pending with what the server said of them (retried), or refused with
    the error when the message failed for good (``final``)."""
    states = {}
    for address, (state, text) in outcome.items():
        if state == REFUSED:
            states[address] = (REFUSED, text)
        else:
            # Deferred itself (4xx): its own answer; taken but the message
            # was not: why the message waits.
            states[address] = (
                (REFUSED, error) if final else (PENDING, text if state == PENDING else error)
            )
    return merged(entries, states, rest=(REFUSED, error) if final else None)
