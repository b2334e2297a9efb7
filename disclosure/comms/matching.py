"""Which case a received message belongs to: the case reference in the
reply address or the subject, else its threading headers against the
Message-IDs Disclosure sent or logged (comms.inbound)."""

import re

from django.conf import settings

from disclosure.cases.models import Case

from . import runscope
from .classify import Classification
from .eml import ReceivedEmail
from .models import Communication, OutboxMessage


def _reference_pattern() -> re.Pattern:
    prefix = re.escape(settings.DISCLOSURE_REFERENCE_PREFIX)
    return re.compile(rf"(?<![A-Za-z0-9]){prefix}-(\d{{4}})-(\d{{4,9}})(?!\d)", re.IGNORECASE)


def references_in(text: str) -> list[str]:
    """The case references (DSC-2026-0042) in ``text``, in order, each once."""
    found = [
        f"{settings.DISCLOSURE_REFERENCE_PREFIX}-{y}-{n}"
        for y, n in _reference_pattern().findall(text or "")
    ]
    return list(dict.fromkeys(found))


def _plus_pattern() -> re.Pattern | None:
    template = settings.DISCLOSURE_REPLY_ADDRESS
    if "{reference}" not in template:
        return None
    before, _, after = template.partition("{reference}")
    return re.compile(re.escape(before) + r"([^@\s<>]+?)" + re.escape(after), re.IGNORECASE)


def _case(references: list[str]) -> Case | None:
    """The case of the first of ``references`` that names one; a case found
    is remembered for the fetch run (references never change)."""
    if not references:
        return None

    def load() -> Case | None:
        cases = {c.reference: c for c in Case.objects.filter(reference__in=references)}
        return next((cases[r] for r in references if r in cases), None)

    return runscope.remembered(("case", tuple(references)), load, keep=lambda c: c is not None)


def _owners(ids: list[str]) -> dict[str, int]:
    """Message-ID -> case id, for those of ``ids`` that are ours: logged
    communications first, then messages of our outbox (two queries)."""
    owners = dict(
        Communication.objects.filter(message_id__in=ids).values_list("message_id", "case_id")
    )
    owners.update(
        (m, c)
        for m, c in OutboxMessage.objects.filter(
            message_id__in=ids, case__isnull=False
        ).values_list("message_id", "case_id")
        if m not in owners
    )
    return owners


def _case_of_message_ids(ids: list[str]) -> Case | None:
    """The case of the latest of ``ids`` that is one of our messages."""
    ids = [i for i in ids if i]
    if not ids:
        return None
    owners = _owners(ids)
    for message_id in ids:
        if message_id in owners:
            return Case.objects.filter(pk=owners[message_id]).first()
    return None


def match_case(mail: ReceivedEmail, kind: Classification) -> tuple[Case | None, str]:
    """The case ``mail`` belongs to and what told (``address``, ``subject``,
    ``in_reply_to``, ``references``, ``bounced``), or (None, "")."""
    for how, refs in _reference_candidates(mail, _plus_pattern()):
        case = _case(refs)
        if case is not None:
            return case, how
    for how, ids in _id_candidates(mail, kind):
        case = _case_of_message_ids(ids)
        if case is not None:
            return case, how
    return None, ""


def _reference_candidates(mail: ReceivedEmail, plus: re.Pattern | None) -> list[tuple[str, list]]:
    """What ``match_case`` tries by reference, in its order: (how, references)."""
    tries = []
    if plus is not None:
        recipients = [*mail.to, *mail.cc]
        for name in ("delivered-to", "x-original-to", "envelope-to"):
            recipients.extend(mail.header(name))
        refs = []
        for value in recipients:
            for m in plus.finditer(value):
                refs.extend(references_in(m.group(1)))
        tries.append(("address", refs))
    tries.append(("subject", references_in(mail.subject)))
    return tries


def _id_candidates(mail: ReceivedEmail, kind: Classification) -> list[tuple[str, list[str]]]:
    """What ``match_case`` tries by Message-ID, in its order: (how, ids)."""
    tries = [("in_reply_to", [mail.in_reply_to]), ("references", list(reversed(mail.references)))]
    if kind.bounced_message_id:
        tries.append(("bounced", [kind.bounced_message_id]))
    return [(how, [i for i in ids if i]) for how, ids in tries]


def match_cases(
    mails: list[ReceivedEmail], kinds: list[Classification]
) -> list[tuple[int | None, str]]:
    """``match_case`` for many messages at once (a fetch's chunk), giving
    each message's case id (not the row: the caller locks the cases) and
    what told, exactly as ``match_case`` decides one by one: at most four
    queries for the whole chunk (the references named, then our
    Message-IDs among the threading headers in the communications and in
    the outbox). Cases found by reference are remembered for the fetch run
    (``runscope``), as ``match_case`` does."""
    plus = _plus_pattern()
    by_reference = [_reference_candidates(mail, plus) for mail in mails]
    wanted = sorted({r for tries in by_reference for _, refs in tries for r in refs})
    known: dict[str, int] = {}
    missing = []
    for ref in wanted:
        case = runscope.remembered(("case", (ref,)), lambda: None, keep=lambda c: c is not None)
        if case is not None:
            known[ref] = case.pk
        else:
            missing.append(ref)
    if missing:
        for case in Case.objects.filter(reference__in=missing):
            known[case.reference] = case.pk
            runscope.remembered(("case", (case.reference,)), lambda c=case: c)
    found: list[tuple[int | None, str] | None] = []
    for tries in by_reference:
        hit = None
        for how, refs in tries:
            pk = next((known[r] for r in refs if r in known), None)
            if pk is not None:
                hit = (pk, how)
                break
        found.append(hit)
    by_id = [
        _id_candidates(mail, kind) if hit is None else []
        for mail, kind, hit in zip(mails, kinds, found, strict=True)
    ]
    ids = sorted({i for tries in by_id for _, group in tries for i in group})
    owners = _owners(ids) if ids else {}
    out: list[tuple[int | None, str]] = []
    for hit, tries in zip(found, by_id, strict=True):
        if hit is None:
            for how, group in tries:
                owner = next((owners[i] for i in group if i in owners), None)
                if owner is not None:
                    hit = (owner, how)
                    break
        out.append(hit or (None, ""))
    return out
