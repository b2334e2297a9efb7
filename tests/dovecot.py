"""A throw-away Dovecot IMAP server for the tests and bench/mail.py.

``DovecotServer`` (no pytest needed) writes a configuration into a temporary
folder and runs ``dovecot -F -c <conf>`` as the current user: TLS required
with a self-signed certificate made by ``openssl`` (``ca_path`` is what a
client must trust), IMAPS and IMAP (STARTTLS only) on free ports of
127.0.0.1, one user in a passwd-file, its mail in ``<tmp>/Maildir``, the log
in ``<tmp>/dovecot.log``. ``deliver`` appends a message to the INBOX over
IMAP (the server stores it as a delivery agent would); ``deliver_to_maildir``
writes it into ``Maildir/new`` directly (how a local delivery agent hands
mail over; much faster for thousands of messages); ``reset`` empties the
mailbox (every folder's messages, every folder but the INBOX).

Pytest fixtures: ``dovecot`` (one server for the session; skipped with the
reason when Dovecot is not installed, failed instead when DISCLOSURE_REQUIRE
names ``mail``) and ``imap_mailbox`` (the same server, its mailbox emptied
for each test). tests/conftest.py imports both.

IMAP hands messages over in network form (lines end in CRLF): a message
delivered with CRLF line ends is fetched byte for byte as delivered.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

USER = "disclosure"
PASSWORD = "imap:test/p@ss%word"  # quoting in the URL is part of what is tested
PROCESSED = "Processed"
START_SECONDS = 20
PR_SET_PDEATHSIG = 1

CONFIG = """\
# Throw-away Dovecot for Disclosure's tests (tests/dovecot.py)
instance_name = disclosure-test-{imaps_port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
debug_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
auth_verbose = yes
default_internal_user = {internal_user}
default_internal_group = {group}
default_login_user = {login_user}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = {gid}
last_valid_gid = {gid}
mail_location = maildir:{root}/Maildir
mail_uid = {uid}
mail_gid = {gid}
mailbox_list_index = yes
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home allow_all_users=no
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service pop3-login {{
  chroot =
}}
service submission-login {{
  chroot =
}}
service imap-urlauth-login {{
  chroot =
}}
service stats {{
  chroot =
}}
"""


class DovecotUnavailable(RuntimeError):
    """Dovecot is not installed, or did not start (the message says why)."""


def dovecot_binary() -> str | None:
    """The dovecot executable, or None. Debian installs it in /usr/sbin,
    which is not on every user's PATH."""
    found = shutil.which("dovecot")
    if found:
        return found
    for candidate in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _service_users(uid: int) -> tuple[str, str]:
    """(internal user, login user): the current user, except under root,
    where Dovecot refuses to run its login processes as root: then Debian's
    own unprivileged users (or nobody)."""
    if uid != 0:
        name = pwd.getpwuid(uid).pw_name
        return name, name
    names = []
    for wanted in ("dovecot", "dovenull"):
        try:
            names.append(pwd.getpwnam(wanted).pw_name)
        except KeyError:
            names.append("nobody")
    return names[0], names[1]


def _ids(user: str) -> tuple[int, int]:
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the test process dies (Linux),
    so that a killed test run leaves no Dovecot behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DovecotServer:
    """One running Dovecot with one user (see the module docstring)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.binary = dovecot_binary()
        if self.binary is None:
            raise DovecotUnavailable("needs Dovecot (apt-get install dovecot-imapd)")
        if shutil.which("openssl") is None:
            raise DovecotUnavailable("needs openssl (apt-get install openssl)")
        self._own_root = root is None
        self.root = Path(root or tempfile.mkdtemp(prefix="disclosure-dovecot-"))
        self.user = USER
        self.password = PASSWORD
        self.host = "127.0.0.1"
        self.imaps_port = _free_port()
        self.imap_port = _free_port()
        self.process: subprocess.Popen | None = None
        self.mail_ids = (os.getuid(), os.getgid())

    # -- paths
    @property
    def ca_path(self) -> str:
        """The self-signed certificate: the CA a client must trust."""
        return str(self.root / "cert.pem")

    @property
    def maildir(self) -> Path:
        return self.root / "Maildir"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    def url(self, *, folder: str = "INBOX", processed: str | None = PROCESSED,
            scheme: str = "imaps", password: str | None = None) -> str:  # fmt: skip
        """A DISCLOSURE_IMAP_URL for this server (imaps by default; ``imap``
        gives the STARTTLS port)."""
        port = self.imaps_port if scheme == "imaps" else self.imap_port
        secret = self.password if password is None else password
        url = f"{scheme}://{quote(self.user, safe='')}:{quote(secret, safe='')}@{self.host}:{port}"
        url += "/" + quote(folder, safe="")
        if processed:
            url += "?processed=" + quote(processed, safe="")
        return url

    # -- life cycle
    def start(self) -> DovecotServer:
        for sub in ("run", "state", "home", "Maildir"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._make_certificate()
        # base64: a colon in the password would end the passwd-file field
        secret = base64.b64encode(self.password.encode()).decode()
        (self.root / "users").write_text(f"{self.user}:{{PLAIN.BASE64}}{secret}::::::\n")
        internal, login = _service_users(os.getuid())
        # Dovecot refuses mail access as root: under root the mail belongs to the internal user.
        uid, gid = (os.getuid(), os.getgid()) if os.getuid() else _ids(internal)
        self.mail_ids = (uid, gid)
        for sub in ("home", "Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp"):
            (self.root / sub).mkdir(exist_ok=True)
            os.chown(self.root / sub, uid, gid)
        self.root.chmod(0o755)  # the login processes (another user under root) reach base_dir
        conf = self.root / "dovecot.conf"
        conf.write_text(
            CONFIG.format(
                root=self.root,
                internal_user=internal,
                login_user=login,
                group=grp.getgrgid(gid).gr_name,
                uid=uid,
                gid=gid,
                imap_port=self.imap_port,
                imaps_port=self.imaps_port,
            )
        )
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "dovecot.stderr", "wb"),  # noqa: SIM115
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise DovecotUnavailable(f"Dovecot exited at start: {self._diagnostics()}")
            try:
                with socket.create_connection((self.host, self.imaps_port), timeout=1):
                    pass
                with socket.create_connection((self.host, self.imap_port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise DovecotUnavailable(
                        f"Dovecot did not listen within {START_SECONDS}s: {self._diagnostics()}"
                    ) from None
                time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _make_certificate(self) -> None:
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
             "-keyout", str(self.root / "key.pem"), "-out", str(self.root / "cert.pem")],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip

    def _diagnostics(self) -> str:
        text = ""
        for name in ("dovecot.stderr", "dovecot.log"):
            path = self.root / name
            if path.exists():
                text += path.read_text(errors="replace")[-2000:]
        return text.strip() or "(no output)"

    # -- the mailbox
    def connect(self) -> imaplib.IMAP4_SSL:
        """A logged-in imaplib client (trusting the server's certificate)."""
        context = ssl.create_default_context(cafile=self.ca_path)
        client = imaplib.IMAP4_SSL(self.host, self.imaps_port, ssl_context=context, timeout=30)
        client.login(self.user, self.password)
        return client

    def deliver(self, raw: bytes, folder: str = "INBOX") -> None:
        """Put one message into ``folder`` (IMAP APPEND; imaplib sends bare
        LF line ends as CRLF)."""
        client = self.connect()
        try:
            status, data = client.append(folder, None, None, raw)
            if status != "OK":
                raise RuntimeError(f"APPEND refused: {data!r}")
        finally:
            client.logout()

    def deliver_to_maildir(self, raw: bytes) -> None:
        """Write one message into the INBOX's Maildir ``new`` folder, as a
        local delivery agent does (tmp, then rename)."""
        name = f"{time.time():.6f}.{uuid.uuid4().hex}.disclosure-test"
        tmp = self.maildir / "tmp" / name
        tmp.write_bytes(raw)
        if os.getuid() == 0:
            os.chown(tmp, *self.mail_ids)
        tmp.rename(self.maildir / "new" / name)

    def messages(self, folder: str = "INBOX") -> list[tuple[bytes, set[str]]]:
        """(raw bytes, flags but \\Recent) of every message in ``folder``, in UID order."""
        client = self.connect()
        try:
            status, _ = client.select(_quoted(folder), readonly=True)
            if status != "OK":
                return []
            status, data = client.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
            found = []
            for item in data:
                if isinstance(item, tuple):
                    flags = {f.decode() for f in imaplib.ParseFlags(item[0])} - {"\\Recent"}
                    found.append((item[1], flags))
            return found
        finally:
            client.logout()

    def folders(self) -> set[str]:
        client = self.connect()
        try:
            _, data = client.list()
            return {line.decode().rsplit(' "/" ', 1)[1].strip('"') for line in data if line}
        finally:
            client.logout()

    def reset(self) -> None:
        """Empty the mailbox: every message in every folder, every folder but INBOX."""
        client = self.connect()
        try:
            _, data = client.list()
            names = [line.decode().rsplit(' "/" ', 1)[1].strip('"') for line in data if line]
            for name in names:
                _, count = client.select(_quoted(name))
                if int(count[0] or 0):
                    client.store("1:*", "+FLAGS.SILENT", r"(\Deleted)")
                    client.expunge()
                client.close()
            for name in sorted(names, key=len, reverse=True):
                if name.upper() != "INBOX":
                    client.delete(_quoted(name))
        finally:
            client.logout()


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


try:
    import pytest
except ImportError:  # bench/mail.py runs without pytest too
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def dovecot():
        """One throw-away Dovecot for the session (see DovecotServer)."""
        required = "mail" in {
            r.strip() for r in os.environ.get("DISCLOSURE_REQUIRE", "").split(",")
        }
        try:
            server = DovecotServer().start()
        except DovecotUnavailable as exc:
            if required:
                pytest.fail(f"mail is required here (DISCLOSURE_REQUIRE) but {exc}")
            pytest.skip(str(exc))
        yield server
        server.stop()

    @pytest.fixture
    def imap_mailbox(dovecot, settings):
        """The session's Dovecot with an empty mailbox, its certificate trusted
        (settings.DISCLOSURE_IMAP_CA) and settings.DISCLOSURE_IMAP_URL pointing
        at its INBOX (processed mail moved to "Processed")."""
        dovecot.reset()
        settings.DISCLOSURE_IMAP_CA = dovecot.ca_path
        settings.DISCLOSURE_IMAP_URL = dovecot.url()
        return dovecot
