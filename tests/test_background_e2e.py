"""Web, worker and beat as three processes on one PostgreSQL and a Redis of
their own, with the broker stopped part-way (issue 18, "one outbox").

The change is made by a "web" process (a subprocess, so that it publishes to
this test's Redis), the mail is delivered by a ``celery worker`` process and
the periodic dispatch is run by a ``celery beat`` process whose schedule is
cut to a second. While Redis is down, a change still commits and its mail
waits in the outbox; once Redis is back, beat's dispatch hands it to the
worker, and every message reaches the SMTP server exactly once, and every
webhook delivery of the same changes reaches its receiver exactly once.
"""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

from disclosure.cases.stages import Stage
from disclosure.comms.models import OutboxMessage, OutboxStatus
from disclosure.webhooks.models import WebhookDelivery
from disclosure.webhooks.services import create_subscription
from disclosure.webhooks.signing import verify
from tests.factories import make_case
from tests.mailservers import test_database_url
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

VENDOR = "psirt@contoso.example"

WEB_MAIN = """\
import json, sys
import django
django.setup()
from disclosure.accounts.models import User
from disclosure.cases.models import Case
from disclosure.comms.outbound import send_case_mail
args = json.loads(sys.argv[1])
comm = send_case_mail(
    actor=User.objects.get(pk=args["actor"]),
    case=Case.objects.get(pk=args["case"]),
    to=[args["to"]],
    subject=args["subject"],
    body="Your bucket is open.\\n",
)
print(comm.message_id)
"""

CELERY_MAIN = """\
import sys
from disclosure.celery import app
app.conf.beat_schedule = {
    "dispatch-outbox": {"task": "disclosure.comms.tasks.dispatch_outbox", "schedule": 1.0},
}
app.start(sys.argv[1:])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Redis:
    """A redis-server of this test's own on 127.0.0.1 (so it can be stopped)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def accepting() -> bool:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_for(accepting, "redis-server to listen", timeout=20)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=20)


@pytest.fixture
def redis_server(tmp_path):
    if not Path("/usr/bin/redis-server").exists():
        pytest.skip("needs redis-server")  # CI installs it with Redis
    server = Redis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def processes(transactional_db, redis_server, smtp_server, tmp_path, _private_storage):
    """``start(role)`` starts a worker or beat process on the test database
    and the test's Redis; all are stopped after the test."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DJANGO_DEBUG": "1",
        "DATABASE_URL": test_database_url(),
        "CELERY_BROKER_URL": redis_server.url,
        "DISCLOSURE_MAIL_RETRY_SECONDS": "1",
        "DISCLOSURE_LEDGER_SIGNING_KEY": settings.DISCLOSURE_LEDGER_SIGNING_KEY,
        "DISCLOSURE_ANCHOR_DIR": str(tmp_path / "anchor"),
        "PRIVATE_STORAGE_ROOT": str(_private_storage),
        "DEFAULT_FROM_EMAIL": "disclosure@firm.example",
        "DISCLOSURE_MAIL_DOMAIN": "firm.example",
        "DISCLOSURE_REPLY_ADDRESS": "disclosure+{reference}@firm.example",
        "DISCLOSURE_MAILDIR": str(tmp_path / "maildir"),
        "DISCLOSURE_FETCH_ALLOWED_NETWORKS": "127.0.0.1/32",  # the webhook receiver
        "DISCLOSURE_WEBHOOK_RETRY_SECONDS": "1",
        **smtp_server.env(),
    }
    started: list[tuple[subprocess.Popen, Path]] = []

    def start(role: str) -> subprocess.Popen:
        log = tmp_path / f"{role}.log"
        args = {
            "worker": ["worker", "--pool=solo", "--without-gossip", "--without-mingle",
                       "--without-heartbeat", "--loglevel=INFO"],
            "beat": ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"],
        }[role]  # fmt: skip
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", CELERY_MAIN, *args],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started.append((proc, log))
        return proc

    def web(**kwargs) -> str:
        done = subprocess.run(
            [sys.executable, "-c", WEB_MAIN, json.dumps(kwargs)],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    start.web = web
    start.logs = lambda: "\n".join(f"--- {log.name}\n{log.read_text()}" for _, log in started)
    try:
        yield start
    finally:
        for proc, _log in started:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=20)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_a_change_made_while_the_broker_is_down_is_delivered_once_when_it_is_back(
    processes, redis_server, smtp_server, receiver, settings, analyst, admin_user, vendor
):
    vendor.security_contacts = [VENDOR]
    vendor.domains = ["contoso.example"]
    vendor.save()
    case = make_case(Stage.VENDOR_NOTIFIED, actor=analyst, vendor=vendor)
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    secret = "e2e-webhook-secret-0123456789"
    create_subscription(
        actor=admin_user,
        name="e2e",
        url=receiver.url,
        secret=secret,
        event_kinds=["communication_logged"],
        internal=True,
    )
    processes("worker")
    processes("beat")
    send = {"actor": analyst.pk, "case": case.pk, "to": VENDOR}

    # 1. Broker up: the web process's change reaches the SMTP server.
    first = processes.web(subject="First", **send)
    try:
        smtp_server.wait_for(1)
    except AssertionError:
        raise AssertionError(processes.logs()) from None

    # 2. Broker down: the change still commits; its mail waits in the outbox.
    redis_server.stop()
    second = processes.web(subject="Second", **send)
    row = OutboxMessage.objects.get(message_id=second)
    assert row.status == OutboxStatus.QUEUED
    time.sleep(3)  # beat and the worker run into the dead broker meanwhile
    assert OutboxMessage.objects.get(pk=row.pk).status == OutboxStatus.QUEUED

    # 3. Broker back: beat's dispatch hands it to the worker, once.
    redis_server.start()
    try:
        received = smtp_server.wait_for(2, timeout=90)
    except AssertionError:
        raise AssertionError(processes.logs()) from None
    wait_for(
        lambda: OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 2, "both sent"
    )
    time.sleep(3)  # more beat ticks: nothing is sent again
    ids = [message.message_id for message in smtp_server.received]
    assert sorted(ids) == sorted([first, second])

    # The webhooks of both changes (one communication_logged event each) went
    # through the same outbox: each delivery reached the receiver once, signed.
    wait_for(
        lambda: WebhookDelivery.objects.filter(status="sent").count() == 2, "both webhooks sent"
    )
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 2
    posted = [r.headers["Idempotency-Key"] for r in receiver.received]
    assert sorted(posted) == sorted(str(d.delivery_id) for d in deliveries)
    for request in receiver.received:
        assert verify(
            secret, request.headers["Disclosure-Signature"], request.body, now=int(time.time())
        )
    assert [m.message["Subject"] for m in received][:2] == [
        f"[{case.reference}] First",
        f"[{case.reference}] Second",
    ]
