"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1.

``TestSMTPServer.start()`` runs an aiosmtpd ``Controller`` on a free port in
a thread of its own. Every message the server *accepts* (answers 250 to
DATA) is recorded with its envelope, the exact bytes received and its
Message-ID; a message the server refuses, or whose client went away before
the answer, is not. The server can be told to:

- ``refuse(code, at=..., times=n)``: answer ``code`` (451 temporary, 550
  permanent, ...) to the next ``n`` MAIL, RCPT or DATA commands;
- ``stall(at=..., times=n)``: hold the next ``n`` MAIL, RCPT or DATA
  commands without an answer until ``release()`` (``stalled`` is set once
  one is held), so that a test can kill the client mid-send. A held command
  is answered 451 on release and its message is not recorded: the server
  never accepted it (``then_accept=True``: it goes on as usual instead);
- ``hold_answer(times=n)``: record the next ``n`` messages, then hold the
  250 back until ``release()``.

The ``smtp_server`` fixture (tests/conftest.py imports it) yields a server and
points Django's SMTP backend at it; ``server.env()`` gives the environment
variables that do the same for a subprocess (a Celery worker).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass, field

import pytest
from aiosmtpd.controller import Controller

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
STAGES = ("MAIL", "RCPT", "DATA")


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message_id: str

    @property
    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


@dataclass
class _Rule:
    stage: str
    times: int
    code: int = 0  # a refusal's code; 0 for a stall
    text: str = ""
    accept: bool = False  # a stall: accept the command when released


@dataclass
class _Handler:
    """aiosmtpd's handler: records, refuses and stalls as told."""

    server: TestSMTPServer
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _rule(self, stage: str) -> _Rule | None:
        with self.lock:
            for rule in self.server._rules:
                if rule.stage == stage and rule.times > 0:
                    rule.times -= 1
                    return rule
        return None

    async def _verdict(self, stage: str) -> str | None:
        """The answer to give instead of accepting, or None to accept."""
        self.server.commands.append(stage)
        rule = self._rule(stage)
        if rule is None:
            return None
        if rule.code:
            self.server.refusals.append((stage, rule.code))
            return f"{rule.code} {rule.text or 'Refused by the test server'}"
        self.server.stalled.set()
        while not self.server._released.is_set():
            await asyncio.sleep(0.02)
        if rule.accept:
            return None
        return "451 The held command was released unanswered"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        answer = await self._verdict("MAIL")
        if answer is not None:
            return answer
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        answer = await self._verdict("RCPT")
        if answer is not None:
            return answer
        if address in self.server.refused_addresses:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        answer = await self._verdict("DATA")
        if answer is not None:
            return answer
        raw = bytes(envelope.original_content)
        parsed = email.message_from_bytes(raw, policy=email.policy.default)
        received = Received(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message_id=str(parsed.get("Message-ID", "")).strip(),
        )
        with self.lock:
            self.server.received.append(received)
            answer = f"250 2.0.0 Ok: queued as {len(self.server.received)}"
            held = self.server._hold_answers > 0
            if held:
                self.server._hold_answers -= 1
        if held:  # accepted (recorded), the answer held back
            self.server.stalled.set()
            while not self.server._released.is_set():
                await asyncio.sleep(0.02)
        return answer


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class TestSMTPServer:
    """aiosmtpd on 127.0.0.1 (see the module docstring)."""

    __test__ = False  # not a test class

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = 0
        self.received: list[Received] = []
        self.commands: list[str] = []  # MAIL/RCPT/DATA as they arrived
        self.refusals: list[tuple[str, int]] = []
        self.refused_addresses: set[str] = set()
        self.stalled = threading.Event()
        self._released = threading.Event()
        self._rules: list[_Rule] = []
        self._hold_answers = 0
        self._controller: Controller | None = None

    @classmethod
    def start(cls) -> TestSMTPServer:
        server = cls()
        for attempt in range(5):  # another process may take the free port first
            server.port = free_port()
            controller = Controller(
                _Handler(server), hostname=server.host, port=server.port, ready_timeout=10
            )
            try:
                controller.start()
            except OSError:
                if attempt == 4:
                    raise
                continue
            server._controller = controller
            return server
        raise AssertionError("unreachable")

    def stop(self) -> None:
        self._released.set()
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # --- behaviour -------------------------------------------------------

    def refuse(self, code: int, *, at: str = "DATA", times: int = 1, text: str = "") -> None:
        """Answer ``code`` to the next ``times`` commands ``at`` (MAIL/RCPT/DATA)."""
        if at not in STAGES:
            raise ValueError(at)
        self._rules.append(_Rule(stage=at, times=times, code=code, text=text))

    def stall(self, *, at: str = "DATA", times: int = 1, then_accept: bool = False) -> None:
        """Hold the next ``times`` commands ``at`` unanswered until ``release()``,
        which answers them 451 (their message is not recorded), or goes on as
        usual with ``then_accept``."""
        if at not in STAGES:
            raise ValueError(at)
        self.stalled.clear()
        self._released.clear()
        self._rules.append(_Rule(stage=at, times=times, accept=then_accept))

    def hold_answer(self, *, times: int = 1) -> None:
        """Accept (record) the next ``times`` messages but hold back the 250
        until ``release()``: a server that took a message whose client then
        stopped waiting (the outbox's duplicate window)."""
        self.stalled.clear()
        self._released.clear()
        self._hold_answers += times

    def release(self) -> None:
        """Answer the held commands (see ``stall``)."""
        self._released.set()

    # --- what arrived ----------------------------------------------------

    def count(self, message_id: str) -> int:
        """How many copies of ``message_id`` the server accepted."""
        return sum(1 for r in self.received if r.message_id == message_id)

    def wait_for(self, n: int, timeout: float = 30) -> list[Received]:
        """Wait until ``n`` messages have arrived (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {n} messages arrived")
            time.sleep(0.05)
        return list(self.received)

    def settings(self) -> dict[str, object]:
        """Django settings sending through this server."""
        return {
            "EMAIL_BACKEND": SMTP_BACKEND,
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": self.port,
            "EMAIL_USE_TLS": False,
            "EMAIL_USE_SSL": False,
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }

    def env(self) -> dict[str, str]:
        """Environment variables giving a subprocess the same settings."""
        return {
            "EMAIL_BACKEND": SMTP_BACKEND,
            "EMAIL_HOST": self.host,
            "EMAIL_PORT": str(self.port),
            "EMAIL_USE_TLS": "false",
            "EMAIL_USE_SSL": "false",
            "EMAIL_HOST_USER": "",
            "EMAIL_HOST_PASSWORD": "",
        }


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server for this test, Django's SMTP backend pointed at it."""
    server = TestSMTPServer.start()
    for name, value in server.settings().items():
        setattr(settings, name, value)
    settings.EMAIL_TIMEOUT = 10
    try:
        yield server
    finally:
        server.stop()


# --- a Celery worker in a process of its own ---------------------------------


# ``celery worker`` whose default queue is argv[1]: what it consumes, and
# where the tasks it sends itself go (the delivery of a notice it wrote).
WORKER_MAIN = """\
import sys
from disclosure.celery import app
app.conf.task_default_queue = sys.argv[1]
app.worker_main(sys.argv[2:])
"""


class WorkerProcess:
    """``celery worker`` (solo pool) in a subprocess, consuming one queue of
    the test's own on the suite's Redis (also where the tasks it sends go),
    on the test database: a worker a test can SIGKILL mid-task. ``env`` adds
    to the environment (the SMTP server's ``env()``, mail settings)."""

    __test__ = False

    def __init__(self, queue: str, env: dict[str, str], log_dir) -> None:
        self.queue = queue
        self.env = env
        self.log_dir = log_dir
        self.proc = None
        self.log_path = None
        self.started = 0

    def start(self, timeout: float = 60) -> WorkerProcess:
        import subprocess
        import sys

        from django.conf import settings

        self.started += 1
        self.log_path = self.log_dir / f"worker-{self.queue}-{self.started}.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "DJANGO_DEBUG": "1",
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            **self.env,
        }
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    WORKER_MAIN,
                    self.queue,
                    "worker",
                    "--pool=solo",
                    f"--queues={self.queue}",
                    f"--hostname={self.queue}-{self.started}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel=INFO",
                ],
                cwd=settings.BASE_DIR,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while b" ready." not in self.log_path.read_bytes():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the worker did not start:\n{self.log()}")
            time.sleep(0.1)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as a crash or the OOM killer."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """A warm shutdown (SIGTERM), killed if it takes too long."""
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


def test_database_url() -> str:
    """The test database as a DATABASE_URL, for subprocesses (PostgreSQL)."""
    from urllib.parse import quote

    from django.db import connection

    s = connection.settings_dict
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    host = s.get("HOST") or "127.0.0.1"
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{s['NAME']}"


test_database_url.__test__ = False


def forget_queue(queue: str) -> None:
    """Delete ``queue`` from the broker's Redis (its list and bindings), with
    the unacknowledged deliveries from it a killed worker left behind."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        for tag, payload in client.hgetall("unacked").items():
            if queue.encode() in payload:
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)
    finally:
        client.close()


@pytest.fixture
def worker_queue(monkeypatch):
    """A queue of this test's own, where the outbox's delivery task goes.
    Yields the queue's name; the queue is deleted afterwards."""
    import uuid

    from disclosure.celery import app

    queue = f"test-outbox-{uuid.uuid4().hex}"
    task = app.tasks["disclosure.comms.tasks.deliver_outbox_message"]
    monkeypatch.setattr(task, "queue", queue, raising=False)
    monkeypatch.setattr(task, "_exec_options", None)
    try:
        yield queue
    finally:
        forget_queue(queue)


@pytest.fixture
def worker_processes(transactional_db, worker_queue, tmp_path):
    """Start workers with ``start(env)``; all are stopped after the test
    (before its database is flushed)."""
    workers: list[WorkerProcess] = []

    def start(env: dict[str, str]) -> WorkerProcess:
        worker = WorkerProcess(worker_queue, env, tmp_path)
        workers.append(worker)
        return worker.start()

    try:
        yield start
    finally:
        for worker in workers:
            worker.stop()
