"""A fetch's chunk of received mail, taken at once (``receive_batch``).

The chunk is ONE transaction. Most of its messages are taken set-based,
with a number of statements that does not grow with the messages: one
query for what their Message-IDs were before (``inbound._seen``), the
matching of all of them (``matching.match_cases``), the lock of their cases
with each one's ledger check (``ledger.bulk.lock_cases``), one query for
the files those cases hold already (``evidence.bulk.held``), then one
INSERT each for the evidence rows, the communications, their attachment
links, the events (``ledger.bulk.append_many``: per case a chain in the
mailbox's order, the case rows' heads written once) and the received
messages' rows. Each message gets exactly what ``inbound.receive`` alone
gives it: the raw message and the attachments as evidence with their
events, the communication with its event and the staff notice, the sender
checked, the auto-reply classified, the row's status and problem.

Anything out of the ordinary is taken message by message after them, in
the same transaction, exactly as ``receive`` does, each message in a
savepoint (a refused message rolls back only its own): a message refused
before reading (size, empty, ours), one whose Message-ID was seen before
or earlier in the chunk, a bounce (it marks addresses undeliverable), one
whose case refuses the log (its stage, a ledger mismatch) or that a rule
of the log refuses (a field ``write_communication``/``write_evidence``
would refuse), one carrying a file its case holds already or twice, and
every message when ``inbound.write_communication`` is replaced (a wrapper
put there to watch or fail the writes then sees each message).

When anything raises, the whole chunk rolls back and its messages are
received again each in its own transaction (``inbound.receive``), so one
failing message keeps back only itself; the mailbox marks the chunk's
messages processed only after this returns.

Speed: a chunk may come read already (``read_messages``, which an IMAP
fetch runs for the next chunk while this one is written, the parsing and
classifying in a forked worker process); the staff notices of the chunk are
written at once (``notices.messages_received``); the chunk's files are
stored by a few threads while its rows are written, every one of them
stored (and checked to be what its row says) before the transaction ends.
"""

import hashlib
import io
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from disclosure.cases.deadlines import store_next_due
from disclosure.cases.guards import check_occurred_at, require_stage
from disclosure.core import copyrows
from disclosure.core.errors import DomainError, ValidationFailed
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import now
from disclosure.core.validation import clean_text
from disclosure.evidence import bulk as evidence_bulk
from disclosure.evidence.models import EvidenceFile, EvidenceKind, shared_by_default
from disclosure.evidence.storage import _SNIFF_BYTES as SNIFF_BYTES
from disclosure.evidence.storage import detect_content_type
from disclosure.ledger import bulk as ledger_bulk
from disclosure.ledger.fingerprints import record_ref
from disclosure.ledger.models import EventKind

from . import inbound, notices, searchindex, services
from .classify import Classification, classify
from .inbound_read import read_messages
from .matching import match_cases
from .models import Automated, Channel, Communication, Direction, InboundMessage, InboundStatus
from .senders import sender_is_unknown

logger = logging.getLogger(__name__)

Result = inbound.Received | Exception
# Files of a chunk stored at once (``_store``).
STORE_THREADS = 4


def receive_batch(
    raws: Sequence[bytes], *, source: str, read: Sequence[inbound._Incoming] | None = None
) -> list[Result]:
    """``inbound.receive`` for each message of ``raws`` (one chunk of a
    fetch, in the mailbox's order), all in ONE transaction (see the module
    docstring). Returns, message by message, its ``Received`` or the
    exception that kept it from being received (the mailbox then keeps
    that message).

    Nothing is half-written: the caller moves or flags the messages in the
    mailbox only after this returns, so a crash before the commit loses
    nothing (the next fetch hands the messages over again) and a crash
    after it logs nothing twice (a Message-ID is taken once; a Message-ID
    twice in one chunk is taken by its first message). When a message
    raises (the database or the storage failing, or a bug it triggers), the
    whole chunk is rolled back and its messages are received again, each in
    its own transaction as ``receive`` alone does, so one failing message
    keeps back only itself. ``read``: the messages as ``read_messages(raws,
    source=source)`` read them already (used only when it matches ``raws``
    message by message)."""
    if not raws:
        return []
    if (
        read is None
        or len(read) != len(raws)
        or any(m.raw is not r and m.raw != r for m, r in zip(read, raws, strict=True))
        or any(m.source != inbound.storable(source, 200) for m in read)
    ):
        read = read_messages(raws, source=source)
    token = inbound._in_chunk.set(True)
    try:
        with transaction.atomic():
            return _receive_chunk(list(read))
    except Exception:
        logger.warning(
            "A message of a chunk of %d from %s failed; the chunk was rolled back and is "
            "received message by message.", len(raws), source, exc_info=True,
        )  # fmt: skip
    finally:
        inbound._in_chunk.reset(token)
    results: list[Result] = []
    for raw in raws:
        try:
            results.append(inbound.receive(raw, source=source))
        except Exception as e:
            logger.exception("A message from %s was not received; it stays in the mailbox.", source)
            results.append(e)
    return results


def _receive_chunk(chunk: list[inbound._Incoming]) -> list[Result]:
    """The chunk's messages, inside its transaction: the ordinary ones
    set-based (``_take_all``), the others one by one after them."""
    seen = inbound._seen([m.message_id for m in chunk if not m.refused])
    results: list[Result | None] = [None] * len(chunk)
    ordinary: list[_Plan] = []
    first: set[str] = set()
    set_based = inbound.write_communication is services.write_communication
    for i, incoming in enumerate(chunk):
        if incoming.refused or incoming.mail is None or incoming.message_id in first:
            continue
        first.add(incoming.message_id)
        if not set_based or any(seen.get(incoming.message_id, inbound._NOT_SEEN)):
            continue
        mail = incoming.mail
        kind = incoming.kind
        if kind is None:
            kind = classify(mail.message) if mail.message is not None else Classification()
        if kind.kind != Automated.BOUNCE:
            ordinary.append(_Plan(i, incoming, kind))
    for plan in _take_all(ordinary):
        results[plan.index] = inbound.Received(plan.row, False)
        seen[plan.incoming.message_id] = (False, True, plan.comm is not None)
    for i, incoming in enumerate(chunk):
        if results[i] is not None:
            continue
        before = seen.get(incoming.message_id, inbound._NOT_SEEN)
        results[i] = inbound._receive(incoming, before)
        seen[incoming.message_id] = (before[0], True, before[2])  # taken now
    return results  # type: ignore[return-value]


@dataclass
class _File:
    """One evidence file of a plan: its bytes, hash and row."""

    content: bytes
    sha: str
    kind: str
    name: str
    description: str
    internal: bool
    row: EvidenceFile | None = None


@dataclass
class _Plan:
    """One ordinary message of the chunk and what is written for it."""

    index: int
    incoming: inbound._Incoming
    kind: Classification
    case_id: int | None = None
    matched_by: str = ""
    files: list[_File] = field(default_factory=list)
    comm: Communication | None = None
    row: InboundMessage | None = None
    fields: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _take_all(plans: list[_Plan]) -> list[_Plan]:
    """Write the ordinary messages ``plans`` set-based; return those taken
    (the others are left to ``inbound._receive``)."""
    if not plans:
        return []
    for plan, (case_id, how) in zip(
        plans, match_cases([p.incoming.mail for p in plans], [p.kind for p in plans]), strict=True
    ):
        plan.case_id, plan.matched_by = case_id, how
        mail = plan.incoming.mail
        plan.problems = list(mail.problems)
        if not mail.message_id:
            plan.problems.append("The message has no Message-ID; it is named by its SHA-256.")
    actor = inbound.mail_account()
    locked = ledger_bulk.lock_cases(sorted({p.case_id for p in plans if p.case_id is not None}))
    cases = {}
    for case in locked.cases:
        try:
            require_stage(case, "log_communication")
        except DomainError:
            continue  # refused message by message (the reason in its row)
        cases[case.pk] = case
    taken = [p for p in plans if p.case_id is None or _prepared(p, cases.get(p.case_id))]
    matched = [p for p in taken if p.case_id is not None]
    # A file its case holds already, or twice in the chunk: message by message.
    counts: dict[tuple[int, str], int] = {}
    for p in matched:
        for f in p.files:
            counts[(p.case_id, f.sha)] = counts.get((p.case_id, f.sha), 0) + 1
    held = evidence_bulk.held(counts)
    clash = {pair for pair, n in counts.items() if n > 1} | held
    taken = [p for p in taken if not any((p.case_id, f.sha) in clash for f in p.files)]
    matched = [p for p in taken if p.case_id is not None]
    stored = _store(taken)  # while the rows are written
    try:
        _log(matched, cases, actor)
        received_at = now()
        rows = [_row(p, received_at) for p in taken]
        copyrows.insert(rows)
    finally:
        stored()  # every file stored before the commit
    for p, row in zip(taken, rows, strict=True):
        p.row = row
    for case in {cases[p.case_id].pk: cases[p.case_id] for p in matched}.values():
        store_next_due(case)  # as the case lock does after every change
    return taken


def _prepared(plan: _Plan, case) -> bool:
    """Check and prepare what ``inbound.log_received`` would write for
    ``plan`` on ``case``; False when it would refuse it (or the case is not
    locked here), which ``inbound._receive`` then does with the reason."""
    if case is None:
        return False
    incoming, mail = plan.incoming, plan.incoming.mail
    try:
        unknown = sender_is_unknown(mail.sender, case)
        shared = False if unknown else None
        limit = settings.EVIDENCE_MAX_BYTES
        raw_description = inbound.storable(f"E-mail received: {mail.subject}", 500)
        files = [
            _file(incoming.raw, incoming.sha, EvidenceKind.RAW_MESSAGE,
                  f"message-{incoming.sha[:12]}.eml", raw_description, shared, internal=False),
        ]  # fmt: skip
        for a in mail.attachments:
            content = bytes(a.content)
            sha = hashlib.sha256(content).hexdigest()
            files.append(
                _file(content, sha, EvidenceKind.ATTACHMENT, a.name, "", shared, internal=unknown)
            )
        if any(not f.content or len(f.content) > limit for f in files):
            return False
        if len({f.sha for f in files}) != len(files):
            return False
        plan.files = files
        plan.fields = _communication_fields(plan, case, unknown)
    except DomainError:
        return False
    return True


def _file(content, sha, kind, name, description, shared, *, internal: bool) -> _File:
    """A file as ``write_evidence`` names and marks it."""
    is_shared = shared_by_default(kind) if shared is None else bool(shared)
    name = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()[:255] or "unnamed"
    return _File(
        content=content,
        sha=sha,
        kind=kind,
        name=name,
        description=clean_text(description, field="description"),
        internal=internal or not is_shared,
    )


def _communication_fields(plan: _Plan, case, unknown: bool) -> dict:
    """The communication's columns, checked as ``write_communication`` and
    ``MailHeaders.fields`` check them (DomainError when they would refuse)."""
    mail = plan.incoming.mail
    recipients = [*mail.to, *(f"cc: {a}" for a in mail.cc)] or list(mail.header("delivered-to"))
    recipients = [inbound.storable(r, 500) for r in recipients][:500] or ["(no recipient named)"]
    recipients = [r.strip() for r in recipients if r and r.strip()]
    if not recipients or any(len(r) > services.RECIPIENT_MAX_CHARS for r in recipients):
        raise ValidationFailed("Recipients.", field="recipients")
    body = mail.body
    text_limit = getattr(settings, "DISCLOSURE_MAX_TEXT_CHARS", 1_000_000)
    if len(body) > text_limit:
        body = body[:text_limit] + "\n[… cut; the whole message is the raw message evidence]"
    if not body.strip() and not mail.subject and not mail.attachments:
        body = "(The message has no text; see the raw message.)"
    sender = clean_text(
        inbound.storable(mail.sender, 320) or "(no sender)",
        model=Communication, field="sender", required=True,
    )  # fmt: skip
    subject = clean_text(inbound.storable(mail.subject, 500), model=Communication, field="subject")
    if not subject and not body.strip() and not mail.attachments:
        raise ValidationFailed("No content.", field="body")
    occurred_at = inbound._occurred_at(mail, case)
    check_occurred_at(occurred_at, not_before=case.found_at, what="the communication")
    message_id = plan.incoming.message_id.strip()
    if not (message_id.startswith("<") and message_id.endswith(">") and len(message_id) > 2):
        raise ValidationFailed("Not a Message-ID.", field="message_id")
    if len(message_id) > 998:
        raise ValidationFailed("Message-ID too long.", field="message_id")
    if plan.kind.kind and plan.kind.kind not in Automated.values:
        raise ValidationFailed("Unknown kind.", field="automated")
    return {
        "message_id": message_id,
        "in_reply_to": mail.in_reply_to.strip()[:998],
        "references": " ".join(r.strip() for r in mail.references if r.strip()),
        "sender_unknown": unknown,
        "automated": plan.kind.kind,
        "direction": Direction.INBOUND,
        "channel": Channel.EMAIL,
        "sender": sender,
        "recipients": recipients,
        "subject": subject,
        "body": body,
        "body_sha256": sha256_hex(body.encode("utf-8")),
        "occurred_at": occurred_at,
    }


def _store(plans: list[_Plan]) -> Callable[[], None]:
    """Start storing the raw bytes of every message and each evidence
    file's content (``inbound.store_stream``: the evidence store, by hash),
    a few files at a time (``STORE_THREADS``: the store's work is mostly
    waiting on the disk or the network) while the chunk's rows are written;
    each file's row is described at once from the bytes in memory (hash,
    size, the type ``store_stream`` detects from the first bytes). Returns
    what waits for every file to be stored: call it before the transaction
    commits. It raises the first failure, or when a stored file is not what
    its row says (then the chunk rolls back)."""
    jobs: list[tuple[_File | None, bytes, int | None]] = []
    for p in plans:
        if p.case_id is None:
            raw = p.incoming.raw
            jobs.append((None, raw, max(len(raw), 1)))
            continue
        for f in p.files:
            jobs.append((f, f.content, None))
            f.row = EvidenceFile(
                sha256=f.sha, size=len(f.content),
                content_type=detect_content_type(f.content[:SNIFF_BYTES]),
                original_name=f.name, kind=f.kind, description=f.description,
                internal=f.internal,
            )  # fmt: skip

    def store(job):
        _, content, max_bytes = job
        return inbound.store_stream(io.BytesIO(content), max_bytes=max_bytes)

    if not jobs:
        return lambda: None
    pool = ThreadPoolExecutor(max_workers=max(1, STORE_THREADS))
    futures = [pool.submit(store, job) for job in jobs]

    def finish() -> None:
        try:
            for (f, _, _), future in zip(jobs, futures, strict=True):
                blob = future.result()
                if f is not None and (blob.sha256, blob.size, blob.content_type) != (
                    f.row.sha256, f.row.size, f.row.content_type
                ):  # fmt: skip
                    raise RuntimeError(f"The evidence store kept {blob} for {f.name!r}.")
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    return finish


def _log(plans: list[_Plan], cases: dict, actor) -> None:
    """The evidence rows, communications, attachment links, events (per
    case in the chunk's order) and staff notices of the matched ``plans``."""
    if not plans:
        return
    files = []
    for p in plans:
        for f in p.files:
            f.row.case, f.row.uploaded_by = cases[p.case_id], actor
            files.append(f.row)
    evidence_bulk.create_files(files)
    comms = []
    for p in plans:
        p.comm = Communication(
            **p.fields, raw_message=p.files[0].row, case=cases[p.case_id], logged_by=actor
        )
        comms.append(p.comm)
    # Their search documents after the commit (a thread), not in this INSERT.
    searchindex.defer()
    transaction.on_commit(searchindex.index_soon)
    copyrows.insert(comms)  # the rows bulk_create writes, without its arrays of bodies
    links = [
        Communication.attachments.through(communication_id=p.comm.pk, evidencefile_id=f.row.pk)
        for p in plans
        for f in p.files[1:]
    ]
    Communication.attachments.through.objects.bulk_create(links, batch_size=1000)
    events = []
    for p in plans:
        case = cases[p.case_id]
        for f in p.files:
            events.append(
                ledger_bulk.NewEvent(
                    case=case,
                    kind=EventKind.EVIDENCE_ATTACHED,
                    payload={**f.row.manifest_entry(), "record": record_ref(f.row)},
                    internal=f.internal,
                )
            )
        attached = [f.row for f in p.files[1:]]
        comm = p.comm
        events.append(
            ledger_bulk.NewEvent(
                case=case,
                kind=EventKind.COMMUNICATION_LOGGED,
                occurred_at=comm.occurred_at,
                internal=bool(comm.sender_unknown),
                payload={
                    "communication_id": comm.pk,
                    "direction": comm.direction,
                    "channel": comm.channel,
                    "sender": comm.sender,
                    "recipients": comm.recipients,
                    "subject": comm.subject,
                    "body_sha256": comm.body_sha256,
                    "attachments": sorted(f.sha256 for f in attached),
                    "message_id": comm.message_id,
                    **({"automated": comm.automated} if comm.automated else {}),
                    "record": record_ref(comm, linked=[f.pk for f in attached]),
                },
            )
        )
    ledger_bulk.append_many(events, actor=actor)
    notices.messages_received([p.comm for p in plans], actor)  # in this transaction


def _row(plan: _Plan, received_at) -> InboundMessage:
    """The received message's row, as ``inbound._take`` writes it."""
    incoming, mail = plan.incoming, plan.incoming.mail
    row = InboundMessage(
        message_id=incoming.message_id,
        source=incoming.source,
        raw_sha256=incoming.sha,
        raw_size=len(incoming.raw),
        sender=inbound.storable(mail.sender, 998),
        subject=inbound.storable(mail.subject, 998),
        sent_at=mail.date if inbound._sane(mail.date) else None,
        received_at=received_at,
        automated=plan.kind.kind,
        status=InboundStatus.UNMATCHED,
        problem=inbound.storable("\n".join(plan.problems)),
    )
    if plan.comm is not None:
        row.status, row.case_id, row.communication = (
            InboundStatus.MATCHED, plan.case_id, plan.comm
        )  # fmt: skip
        row.matched_by = plan.matched_by
    return row
