"""A real RFC 3161 time-stamping authority for tests, on 127.0.0.1.

``TestTSA.start(folder)`` makes a CA and a TSA key and certificate with the
``openssl`` command (the TSA's ``extendedKeyUsage`` is ``critical,
timeStamping``, as RFC 3161 requires), writes an ``openssl.cnf`` with a
``[tsa]`` section, and serves ``POST`` requests of type
``application/timestamp-query`` on a free port of 127.0.0.1 from a
threaded ``http.server``: each query is answered with the output of
``openssl ts -reply`` (``application/timestamp-reply``). Nothing here is a
stub: the tokens are OpenSSL's, signed with the TSA's key.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

OPENSSL = shutil.which("openssl") or "openssl"

_CNF = """\
[ req ]
distinguished_name = dn
prompt = no

[ dn ]
CN = unused

[ ca_ext ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ tsa_ext ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid

[ tsa ]
default_tsa = tsa_config

[ tsa_config ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa-cert.pem
certs = $dir/ca-cert.pem
signer_key = $dir/tsa-key.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.99999.3161.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def _openssl(*args: str, cwd: Path) -> bytes:
    done = subprocess.run([OPENSSL, *args], cwd=cwd, capture_output=True, check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.decode(errors='replace')}")
    return done.stdout


def make_tsa_material(folder: Path) -> None:
    """The CA, the TSA key and certificate and the configuration, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "openssl.cnf").write_text(_CNF.format(dir=folder))
    (folder / "serial").write_text("01\n")
    cnf = "openssl.cnf"
    _openssl(
        "req", "-x509", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "3650",
        "-keyout", "ca-key.pem", "-out", "ca-cert.pem", "-subj", "/O=Test TSA/CN=Test TSA Root",
        "-config", cnf, "-extensions", "ca_ext", cwd=folder,
    )  # fmt: skip
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-sha256", "-keyout", "tsa-key.pem",
        "-out", "tsa.csr", "-subj", "/O=Test TSA/CN=Test Time-Stamping Authority",
        "-config", cnf, cwd=folder,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem",
        "-CAcreateserial", "-days", "3650", "-sha256", "-out", "tsa-cert.pem",
        "-extfile", cnf, "-extensions", "tsa_ext", cwd=folder,
    )  # fmt: skip


@dataclass
class TestTSA:
    folder: Path
    server: ThreadingHTTPServer
    thread: threading.Thread
    requests: list[bytes] = field(default_factory=list)

    __test__ = False  # not a test class for pytest

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/tsa"

    @property
    def ca_cert(self) -> Path:
        """The CA that issued the TSA's certificate: the trust anchor."""
        return self.folder / "ca-cert.pem"

    @property
    def tsa_cert(self) -> Path:
        return self.folder / "tsa-cert.pem"

    def reply(self, query: bytes) -> bytes:
        """``openssl ts -reply`` for the DER ``query``."""
        with tempfile.TemporaryDirectory(dir=self.folder) as scratch:
            q = Path(scratch) / "query.tsq"
            q.write_bytes(query)
            return _openssl(
                "ts", "-reply", "-config", str(self.folder / "openssl.cnf"),
                "-queryfile", str(q), "-inkey", str(self.folder / "tsa-key.pem"),
                "-signer", str(self.folder / "tsa-cert.pem"), "-chain",
                str(self.folder / "ca-cert.pem"), cwd=self.folder,
            )  # fmt: skip

    @classmethod
    def start(cls, folder: Path) -> TestTSA:
        make_tsa_material(folder)
        lock = threading.Lock()  # openssl ts -reply increments the serial file
        holder: dict[str, TestTSA] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    self.send_error(415, "expected application/timestamp-query")
                    return
                tsa = holder["tsa"]
                with lock:
                    tsa.requests.append(body)
                    try:
                        answer = tsa.reply(body)
                    except RuntimeError as exc:
                        self.send_error(500, str(exc)[:200])
                        return
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, name="test-tsa", daemon=True)
        tsa = cls(folder=folder, server=server, thread=thread)
        holder["tsa"] = tsa
        thread.start()
        return tsa

    def stop(self) -> None:
        """Stop answering: the port is closed, connections are refused."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def free_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (a TSA that is down)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/tsa"
