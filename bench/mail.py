"""Benchmark of inbound mail: 10,000 messages ingested from a real Dovecot
into PostgreSQL, beside a plain IMAP fetch of the same messages in the same
run, so that what ingestion adds is a ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/disclosure \\
        .venv/bin/python bench/mail.py

It starts the tests' throw-away Dovecot (tests/dovecot.py: TLS, one user, a
Maildir in a temporary folder), creates a throw-away database
(BENCH_MAIL_DB, default bench_mail; it must start with ``bench_``; never real
data) with BENCH_MAIL_CASES cases (default 300, ``bench.bulkgen``) of one
vendor, and delivers BENCH_MAIL_MESSAGES messages (default 10,000) into the
Maildir: most 2-20 KB of text, one in twenty 100-250 KB, one in ten with one
or two attachments of 50-500 KB (CSV extracts or binary captures); most
carry a seeded case's reference in the subject ("Re: [REF] ..."); one in ten
matches no case, one in fifty is an auto-reply, a fifth come from outside
the vendor's domain. The
messages are generated from a fixed seed: each run delivers the same bytes.

Then, after one untimed pass that makes Dovecot index the new mail:

1. plain fetch: imap-tools' ``MailBox.fetch(mark_seen=False, bulk=100)`` of
   the whole INBOX (each message parsed into imap-tools' MailMessage, as an
   imap-tools user gets it), and a raw fetch (``comms.imap``'s batches of
   exact bytes, nothing parsed, nothing moved) as the floor;
2. ingestion: ``comms.fetch.fetch_mail()`` (IMAP through
   ``comms.imap.fetch_imap_chunks`` into ``comms.inbound_batch.receive_batch``:
   a chunk of at most 100 messages / 8 MB per transaction, its messages
   matched, logged and stored as evidence set-based; a chunk's processed
   mail moved to "Processed" after its commit), or ``fetch_imap(url,
   ingest)`` when comms.fetch is not there. Timed up to the last chunk's
   communications' search documents written (``comms.searchindex.wait``:
   a thread writes them after each chunk's commit).

Both sides fetch the same messages with imap-tools, bodies included
(``BODY.PEEK[]``); the plain fetch parses each with the standard library's
default (compat32) parser, as imap-tools does, ingestion with
``email.policy.default`` (comms.eml). The machine's load average is printed
before and after, since the ratio is only comparable under the same load.

The process is warmed before the timed ingestion as a worker that has run
a task before is (``warm_process``: modules imported, URLconf loaded; the
plain fetch's imap-tools is imported before its timing too).

Printed: messages, bytes, the seconds of each, the ratio of ingestion to the
plain fetch (target: at most 3.0) and to the raw fetch, the peak RSS, and
what ingestion wrote. BENCH_MAIL_PROFILE=1 profiles the ingestion
(cProfile; the top functions by own and by cumulative time; the whole
profile into BENCH_MAIL_PROFILE_FILE when set); BENCH_MAIL_QUERIES=1 counts
ingestion's SQL statements by shape, with their time.
BENCH_MAIL_KEEP=1 keeps the database. BENCH_MAIL_VERIFY=1 verifies every
case's ledger after the ingestion (untimed; ``ledger.verify.verify_cases``
with ``deep``: chains, heads, record fingerprints and the stored files'
hashes, as ``manage.py verify_ledger --deep`` does) and prints the problems.
"""

import contextlib
import cProfile
import io
import os
import pstats
import random
import re
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "disclosure.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a benchmark is development: debug on explicitly

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

N_MESSAGES = int(os.environ.get("BENCH_MAIL_MESSAGES", 10_000))
N_CASES = int(os.environ.get("BENCH_MAIL_CASES", 300))
DB_NAME = os.environ.get("BENCH_MAIL_DB", "bench_mail")
KEEP = bool(os.environ.get("BENCH_MAIL_KEEP"))
PROFILE = bool(os.environ.get("BENCH_MAIL_PROFILE"))
QUERIES = bool(os.environ.get("BENCH_MAIL_QUERIES"))
VERIFY = bool(os.environ.get("BENCH_MAIL_VERIFY"))
SEED = 20261203
TARGET = 3.0
VOCABULARY = (
    "the bucket was exposed we have secured access logs show no further downloads "
    "our security team confirms customer records storage account credentials rotated "
    "please find attached the incident report timeline of events data deletion request "
    "thank you for the notice we are investigating and will follow up within days "
    "regards vendor psirt configuration public read policy removed backup snapshot"
)
WORDS = VOCABULARY.split()


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _corpus(rng: random.Random, size: int) -> str:
    lines, total = [], 0
    while total < size:
        line = " ".join(rng.choices(WORDS, k=rng.randint(6, 14)))
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines) + "\n"


_CORPUS = _corpus(random.Random(SEED - 1), 1_200_000)


def _text(rng: random.Random, size: int) -> str:
    """About ``size`` characters of lines of words (a slice of one generated corpus)."""
    start = _CORPUS.index("\n", rng.randrange(len(_CORPUS) - size - 2000)) + 1
    end = _CORPUS.index("\n", start + size) + 1
    return _CORPUS[start:end]


def make_message(rng: random.Random, n: int, references: list[str], domain: str) -> bytes:
    """One generated message (deterministic for a seeded ``rng``)."""
    msg = EmailMessage(policy=SMTP)
    roll = rng.random()
    if roll < 0.8:
        sender = f"security@{domain}"
    else:
        sender = f"someone{rng.randint(1, 500)}@elsewhere{rng.randint(1, 50)}.example"
    msg["From"] = f"Sender {n} <{sender}>"
    msg["To"] = "disclosure@firm.example"
    msg["Date"] = format_datetime(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n))
    msg["Message-ID"] = make_msgid(idstring=f"bench{n}", domain=domain)
    matched = rng.random() >= 0.1
    topic = rng.choice(["Exposed storage", "Follow-up", "Data deletion", "Your notice"])
    msg["Subject"] = f"Re: [{rng.choice(references)}] {topic}" if matched else f"Question {n}"
    if rng.random() < 0.02:
        msg["Auto-Submitted"] = "auto-replied"
        msg.replace_header("Subject", "Out of office: " + msg["Subject"])
    size_roll = rng.random()
    body_size = rng.randint(100_000, 250_000) if size_roll < 0.05 else rng.randint(1_500, 19_000)
    msg.set_content(_text(rng, body_size))
    if rng.random() < 0.1:
        for k in range(rng.choice((1, 1, 2))):
            size = rng.randint(50_000, 500_000)
            if rng.random() < 0.5:
                msg.add_attachment(
                    _text(rng, size).replace(" ", ","), subtype="csv", filename=f"extract{k}.csv"
                )
            else:
                msg.add_attachment(
                    rng.randbytes(size), maintype="application", subtype="octet-stream",
                    filename=f"capture{k}.bin",
                )  # fmt: skip
    return msg.as_bytes()


def deliver(server, references: list[str], domain: str) -> tuple[int, int]:
    """Write N_MESSAGES messages into the Maildir; return (messages, bytes)."""
    rng = random.Random(SEED)
    total = 0
    for n in range(N_MESSAGES):
        raw = make_message(rng, n, references, domain)
        total += len(raw)
        server.deliver_to_maildir(raw)
    return N_MESSAGES, total


def _mailbox(server):
    from imap_tools import MailBox

    from disclosure.comms.imap import tls_context

    box = MailBox(server.host, server.imaps_port, timeout=60, ssl_context=tls_context())
    return box.login(server.user, server.password, "INBOX")


def warm(server) -> int:
    """Make Dovecot index the delivered mail (untimed): a STATUS and a fetch of the sizes."""
    with _mailbox(server) as box:
        box.client.uid("FETCH", "1:*", "(RFC822.SIZE)")
        return box.folder.status("INBOX")["MESSAGES"]


def plain_fetch(server) -> tuple[int, int, float]:
    """imap-tools' own fetch of the whole INBOX, parsed: (messages, bytes, seconds)."""
    start = time.perf_counter()
    count = size = 0
    with _mailbox(server) as box:
        for message in box.fetch(mark_seen=False, bulk=100):
            count += 1
            size += message.size_rfc822
    return count, size, time.perf_counter() - start


def raw_fetch(server) -> tuple[int, int, float]:
    """comms.imap's batches of exact bytes, nothing parsed or moved."""
    from disclosure.comms.imap import _batches, _TlsMailBox, tls_context

    start = time.perf_counter()
    count = size = 0
    box = _TlsMailBox(server.host, server.imaps_port, timeout=60, ssl_context=tls_context())
    with box.login(server.user, server.password, "INBOX"):
        for batch in _batches(box, box.uids("ALL")):
            for message in box.fetch(uid_list=batch, mark_seen=False, bulk=True):
                count += 1
                size += len(message.raw)
    return count, size, time.perf_counter() - start


class QueryCounter:
    """Counts the SQL statements ingestion runs, by their first words
    (``connection.execute_wrapper``), and the seconds spent in them."""

    def __init__(self) -> None:
        self.shapes: dict[str, list[float]] = {}

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            shape = re.sub(r'"s\d+_x\d+"', '"s…"', re.sub(r"\s+", " ", sql))[:90]
            entry = self.shapes.setdefault(shape, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - start

    def report(self, messages: int, top: int = 25) -> str:
        total = sum(n for n, _ in self.shapes.values())
        seconds = sum(t for _, t in self.shapes.values())
        lines = [
            f"{total:,} statements ({total / max(messages, 1):.1f} a message), {seconds:.1f} s"
        ]
        for shape, (n, t) in sorted(self.shapes.items(), key=lambda kv: -kv[1][1])[:top]:
            lines.append(f"  {n:>7,} {t:7.1f} s  {shape}")
        return "\n".join(lines)


def warm_process() -> None:
    """What a worker process has done once before its first fetch, untimed:
    the application's modules and tasks imported and the URLconf loaded (a notice's
    link is the first ``reverse``, which imports every view: about 2 s,
    once per process, not per message)."""
    import importlib
    import importlib.util

    from django.apps import apps
    from django.urls import get_resolver

    import disclosure.comms.fetch  # noqa: F401

    for app in apps.get_app_configs():  # the tasks modules, as Celery's autodiscovery does
        if app.name.startswith("disclosure.") and importlib.util.find_spec(f"{app.name}.tasks"):
            importlib.import_module(f"{app.name}.tasks")
    get_resolver().url_patterns  # noqa: B018


def ingest_all(server) -> tuple[object, float]:
    """Ingest the INBOX through the application: (result, seconds)."""
    warm_process()
    start = time.perf_counter()
    try:
        from disclosure.comms.fetch import fetch_mail
    except ImportError:
        from disclosure.comms.imap import fetch_imap
        from disclosure.comms.inbound import ingest

        result = fetch_imap(settings.DISCLOSURE_IMAP_URL, lambda raw: ingest(raw, source="imap"))
    else:
        result = fetch_mail()
    try:
        from disclosure.comms import searchindex
    except ImportError:
        pass
    else:  # timed: the last chunks' search documents, written by a thread after their commits
        searchindex.wait()
    return result, time.perf_counter() - start


def seed():
    from bench.bulkgen import generate
    from disclosure.cases.models import Case, DisclosurePolicy
    from tests.factories import FirmFactory, MembershipFactory, VendorFactory

    analyst = MembershipFactory(organization=FirmFactory(name="Bench firm"), role="analyst").user
    vendor = VendorFactory(name="Bench vendor")
    policy = DisclosurePolicy.objects.get(name="Standard 90")
    generate(N_CASES, actor=analyst, vendor=vendor, policy=policy)
    return list(Case.objects.values_list("reference", flat=True)), vendor.domain


def written() -> str:
    from disclosure.comms.models import Communication, InboundMessage
    from disclosure.evidence.models import EvidenceFile

    by_status: dict[str, int] = {}
    for status in InboundMessage.objects.values_list("status", flat=True):
        by_status[status] = by_status.get(status, 0) + 1
    comms = Communication.objects.filter(message_id__gt="").count()
    try:
        from disclosure.comms.models import CommunicationSearchPending
    except ImportError:
        pending = ""
    else:
        pending = f"search documents pending {CommunicationSearchPending.objects.count():,}; "
    evidence = EvidenceFile.objects.count()
    return f"inbound messages by status {by_status}; e-mail communications {comms:,}; " + (
        f"{pending}evidence files {evidence:,}"
    )


def verify() -> None:
    """Every case's ledger verified deep (untimed); the problems printed."""
    from disclosure.ledger.verify import verify_cases

    t0 = time.perf_counter()
    reports = list(verify_cases(deep=True))
    bad = [r for r in reports if not r.ok]
    print(
        f"verify_ledger --deep: {len(reports):,} cases, {len(bad)} with problems "
        f"({time.perf_counter() - t0:.1f} s, untimed)"
    )
    for report in bad[:10]:
        print(f"  {report.reference}: {report.problems[:3]}")


def _load() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def run(server) -> None:
    print(_load())
    references, domain = seed()
    print(f"seeded {len(references):,} cases of vendor domain {domain}")
    t0 = time.perf_counter()
    messages, size = deliver(server, references, domain)
    print(
        f"delivered {messages:,} messages, {size / 1e6:,.1f} MB, "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    t0 = time.perf_counter()
    indexed = warm(server)
    print(f"Dovecot indexed {indexed:,} messages in {time.perf_counter() - t0:.1f} s (untimed)")

    raw_n, raw_bytes, raw_s = raw_fetch(server)
    plain_n, plain_bytes, plain_s = plain_fetch(server)
    rss_fetch = _rss_mib()
    print(
        f"raw fetch (bytes only):      {raw_n:,} messages, {raw_bytes / 1e6:,.1f} MB, {raw_s:.1f} s"
    )
    print(
        f"plain fetch (imap-tools):    {plain_n:,} messages, {plain_bytes / 1e6:,.1f} MB, "
        f"{plain_s:.1f} s"
    )
    print(f"peak RSS after the fetches:  {rss_fetch:,.0f} MiB")

    profiler = cProfile.Profile() if PROFILE else None
    counter = QueryCounter() if QUERIES else None
    if profiler:
        profiler.enable()
    with connection.execute_wrapper(counter) if counter else contextlib.nullcontext():
        result, ingest_s = ingest_all(server)
    if profiler:
        profiler.disable()
    if counter:
        print("\n--- ingestion's SQL, by time\n" + counter.report(messages))
    rss_ingest = _rss_mib()
    print(f"ingestion:                   {ingest_s:.1f} s ({result})")
    print(
        f"  per message: raw fetch {raw_s / raw_n * 1000:.1f} ms, plain fetch "
        f"{plain_s / plain_n * 1000:.1f} ms, ingestion {ingest_s / max(messages, 1) * 1000:.1f} ms"
    )
    print(f"  {written()}")
    print(f"  left in INBOX {warm(server):,}")
    ratio = ingest_s / plain_s
    print(
        f"ratio ingestion / plain fetch: {ratio:.2f} (target <= {TARGET}: "
        f"{'met' if ratio <= TARGET else 'MISSED'}); ingestion / raw fetch: {ingest_s / raw_s:.2f}"
    )
    print(f"peak RSS: {rss_ingest:,.0f} MiB")
    print(_load())
    if VERIFY:
        verify()
    if profiler:
        if os.environ.get("BENCH_MAIL_PROFILE_FILE"):
            profiler.dump_stats(os.environ["BENCH_MAIL_PROFILE_FILE"])
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(30)
            print(f"\n--- ingestion profile by {key}\n" + out.getvalue())


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/mail.py needs PostgreSQL: set DATABASE_URL")
    if not DB_NAME.startswith("bench_"):
        sys.exit(
            "bench/mail.py creates and drops its database: BENCH_MAIL_DB must start "
            f"with bench_, not {DB_NAME!r}"
        )
    from django.test.utils import setup_test_environment

    from tests.dovecot import DovecotServer

    setup_test_environment()
    settings.DEBUG = False
    root = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    settings.PRIVATE_STORAGE_ROOT = root / "private"
    settings.STORAGES = {
        **settings.STORAGES,
        "evidence": {
            "BACKEND": "disclosure.evidence.storage.PrivateFileSystemStorage",
            "OPTIONS": {"location": root / "private" / "evidence", "base_url": None},
        },
    }
    settings.DISCLOSURE_MAILDIR = str(root / "maildir-unused")
    settings.DISCLOSURE_REFERENCE_PREFIX = "BEN"  # bench.bulkgen's references: BEN-2025-000001
    old_name = connection.settings_dict["NAME"]
    connection.settings_dict["TEST"]["NAME"] = DB_NAME
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        with DovecotServer() as server:
            settings.DISCLOSURE_IMAP_URL = server.url()
            settings.DISCLOSURE_IMAP_CA = server.ca_path
            run(server)
    finally:
        if not KEEP:
            connection.creation.destroy_test_db(old_name, verbosity=0)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
