"""Real HTTP servers on 127.0.0.1 for tests of outbound fetches (the guarded
client, re-probes): each answers from a table the test changes while it
runs, and records what it was asked."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Seconds between 1-byte writes of the body (a slow, trickling server).
    trickle: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class LocalServer:
    """An HTTP server on 127.0.0.1 (a free port). ``answers`` maps a path
    (without query) to an Answer, or to a callable of the request path
    returning one; unknown paths answer 404. ``requests`` lists what came in."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer | Callable[[str], Answer]] = {}
        self.requests: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    Seen(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
                )
                entry = server.answers.get(self.path.split("?", 1)[0], Answer(404, b"not found"))
                answer = entry(self.path) if callable(entry) else entry
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.send_header("Connection", "close")
                self.end_headers()
                if self.command == "HEAD":
                    return
                try:
                    if answer.trickle:
                        for i in range(len(answer.body)):
                            self.wfile.write(answer.body[i : i + 1])
                            self.wfile.flush()
                            time.sleep(answer.trickle)
                    else:
                        self.wfile.write(answer.body)
                except OSError:
                    pass

            do_GET = do_POST = do_HEAD = do_PUT = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> LocalServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def local_server() -> Iterator[LocalServer]:
    server = LocalServer().start()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def raw_server(reply: bytes) -> Iterator[int]:
    """A TCP server on 127.0.0.1 that answers every connection with ``reply``
    (e.g. something that is not HTTP) and closes; yields its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.settimeout(1)
                    conn.recv(65536)
                    conn.sendall(reply)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def fake_resolver(table: dict[str, list[str]], real: Callable) -> Callable:
    """A stand-in for socket.getaddrinfo answering the names in ``table``
    with the given addresses (the DNS, not the code under test); other names
    go to ``real``. ``calls`` on the returned function counts the lookups."""

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        name = host.decode() if isinstance(host, bytes) else host
        if name in table:
            getaddrinfo.calls.append(name)
            out = []
            for address in table[name]:
                fam = socket.AF_INET6 if ":" in address else socket.AF_INET
                sockaddr = (address, port, 0, 0) if fam == socket.AF_INET6 else (address, port)
                out.append((fam, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
            return out
        return real(host, port, family, type, proto, flags)

    getaddrinfo.calls = []
    return getaddrinfo
