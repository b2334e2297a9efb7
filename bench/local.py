"""What several benchmarks share: a throw-away database of their own and a
small local HTTP endpoint in a process of its own (so its serving does not
share the benchmark's interpreter lock)."""

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

# GET answers with the bytes given as argv[1] (hex) and argv[2] as the type;
# POST reads the body and answers "ok". Each answer closes the connection.
_SERVER = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = bytes.fromhex(sys.argv[1])
TYPE = sys.argv[2]

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def _answer(self, body, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self._answer(BODY, TYPE)
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(b"ok", "text/plain")

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def start_local_server(
    body: bytes = b"ok", content_type: str = "text/plain"
) -> tuple[subprocess.Popen, int]:
    """A local endpoint answering GET with ``body`` and POST with "ok": the
    process (terminate it when done) and its port on 127.0.0.1."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVER, body.hex(), content_type],
        stdout=subprocess.PIPE,
        text=True,
    )
    return proc, int(proc.stdout.readline().strip())


def _admin(base_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(base_url, autocommit=True) as conn:
        conn.execute(sql)


def own_database(db: str, *, setting: str) -> tuple[str, Callable[[], None]]:
    """Point Django at a throw-away database named ``db`` (PostgreSQL when
    DATABASE_URL names one, else SQLite in a temporary folder); returns a
    description and a function that removes it, unless ``<setting>_KEEP``
    is set. ``setting`` (e.g. BENCH_PROBES) names the variables in messages."""
    base = os.environ.get("DATABASE_URL", "")
    if not db.startswith("bench_"):
        raise SystemExit(f"{setting}_DB must start with bench_ (it is dropped).")
    if base.startswith("postgres"):
        parts = urlsplit(base)
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        _admin(admin_url, f"DROP DATABASE IF EXISTS {db}")
        _admin(admin_url, f"CREATE DATABASE {db}")
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{db}"))

        def drop() -> None:
            from django.db import connections

            connections.close_all()
            if not os.environ.get(f"{setting}_KEEP"):
                _admin(admin_url, f"DROP DATABASE IF EXISTS {db}")

        return f"PostgreSQL {db}", drop
    folder = tempfile.mkdtemp(prefix=f"{db}_")
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/db.sqlite3"
    os.environ["PRIVATE_STORAGE_ROOT"] = f"{folder}/private"
    return f"SQLite in {folder}", lambda: None
