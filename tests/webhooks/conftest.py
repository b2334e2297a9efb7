"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1 (the
guarded client may reach it: DISCLOSURE_FETCH_ALLOW_PRIVATE), a clock for
the delivery module, and subscriptions made through the service."""

import json
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from disclosure.webhooks import delivery, services
from tests.clock import Clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class Receiver:
    """A webhook receiver: records every POST and answers with the next of
    ``answers`` (status, body), then 200."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answers: deque[tuple[int, bytes]] = deque()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, {k: v for k, v in self.headers.items()}, body)
                    )
                    status, answer = (
                        receiver.answers.popleft() if receiver.answers else (200, b"ok")
                    )
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def answer(self, *statuses: int, body: bytes = b"") -> None:
        for status in statuses:
            self.answers.append((status, body or f"status {status}".encode()))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def clock(monkeypatch):
    c = Clock(T0)
    monkeypatch.setattr(delivery, "now", c)
    return c


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = True
    settings.DISCLOSURE_WEBHOOK_MAX_ATTEMPTS = 4
    settings.DISCLOSURE_WEBHOOK_RETRY_SECONDS = 30
    settings.DISCLOSURE_WEBHOOK_LEASE_SECONDS = 60
    settings.DISCLOSURE_WEBHOOK_TIMEOUT = 5


SECRET = "s3cret-of-sixteen-or-more"


@pytest.fixture
def subscribe(admin_user, receiver):
    """Make a subscription to the receiver through the service."""

    def make(**kwargs):
        values = {"name": "SIEM", "url": receiver.url, "secret": SECRET, **kwargs}
        return services.create_subscription(actor=admin_user, **values)

    return make
