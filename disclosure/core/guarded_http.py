"""The one guarded HTTP client for every outbound fetch or delivery whose
address comes from a user (re-probes of exposed assets, webhooks).

What it guarantees, for each request (and each redirect it follows):

- only ``http`` and ``https``, a host, a port in 1..65535, no credentials in
  the URL;
- the host name is resolved once (``getaddrinfo``); the request is refused
  (``FetchRefused``) when ANY address it resolves to is forbidden, and the
  connection goes to the checked address (pinned: a second DNS answer can
  never be used, so no DNS rebinding). HTTPS verifies the certificate
  against the host name (SNI and hostname check on the name, not the IP);
- forbidden: private, loopback, link-local, multicast, reserved,
  unspecified, shared (CGNAT 100.64/10) and every other non-global address,
  also inside IPv4-mapped, 6to4, Teredo and NAT64 IPv6 addresses, unless
  ``DISCLOSURE_FETCH_ALLOW_PRIVATE`` is on or the address lies in
  ``DISCLOSURE_FETCH_ALLOWED_NETWORKS``; cloud metadata addresses
  (169.254.169.254, fd00:ec2::254, 100.100.100.200, 192.0.0.192) are refused
  whatever the settings say;
- one total time budget (``timeout``, default ``DISCLOSURE_FETCH_TIMEOUT``)
  for connecting, sending, the headers and the body, enforced by closing the
  socket when it runs out (a server that trickles bytes cannot hold a worker);
- at most ``max_bytes`` of body are read (default
  ``DISCLOSURE_FETCH_MAX_BYTES``); the result says whether more was left;
- redirects are not followed unless ``max_redirects > 0``; each one followed
  is checked like the first URL (scheme, port, every resolved address), and
  the caller's headers are dropped when it leaves the origin.

Failures to talk to the server (time-out, refused connection, TLS error,
malformed answer) raise ``FetchFailed``. This module imports no app.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings

from disclosure.core.errors import DomainError

__all__ = [
    "FetchFailed",
    "FetchRefused",
    "FetchResult",
    "check_url",
    "guarded_request",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Instance metadata services, refused even when private addresses are allowed.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
    )
)
_SHARED = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SCHEMES = {"http": 80, "https": 443}


class FetchRefused(DomainError):
    """The URL's scheme, port or address (also after DNS, also a redirect's
    target) is not one the guarded client may fetch."""

    code = "fetch_refused"


class FetchFailed(DomainError):
    """The server could not be asked or answered nonsense: time-out,
    connection or TLS error, malformed response."""

    code = "fetch_failed"
    http_status = 502


@dataclass(frozen=True)
class FetchResult:
    """One answer. ``address``/``port``: where the connection went (the
    checked, pinned address); ``body``: at most ``max_bytes`` bytes, with
    ``truncated`` saying whether the server had more; ``redirects``: the URLs
    followed before this answer, in order; ``url``: the URL that answered."""

    url: str
    address: str
    port: int
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    elapsed_ms: int
    redirects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA) host name or IP literal, without brackets
    port: int
    path: str  # path and query, never empty
    literal_ip: IPAddress | None

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _SCHEMES[self.scheme] else f"{host}:{self.port}"


# --- addresses ---------------------------------------------------------------


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _non_global(ip: IPAddress) -> bool:
    if (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    ):
        return True
    return isinstance(ip, ipaddress.IPv4Address) and ip in _SHARED


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(n.strip(), strict=False)
        for n in getattr(settings, "DISCLOSURE_FETCH_ALLOWED_NETWORKS", []) or []
        if n.strip()
    ]


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be fetched (a sentence), or None when it may."""
    embedded = _embedded_ipv4(ip) if isinstance(ip, ipaddress.IPv6Address) else None
    candidates = [ip] if embedded is None else [ip, embedded]
    if any(c in METADATA_ADDRESSES for c in candidates):
        return f"{ip} is a cloud metadata address."
    if not any(_non_global(c) for c in candidates):
        return None
    if getattr(settings, "DISCLOSURE_FETCH_ALLOW_PRIVATE", False):
        return None
    networks = _allowed_networks()
    if networks and all(
        any(c in n for n in networks if c.version == n.version) for c in candidates
    ):
        return None
    return f"{ip} is a private, loopback, link-local or otherwise non-public address."


def _legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """IPv4 written the old ways resolvers still accept ("127.1", "0x7f.1",
    "2130706433"), parsed without any network; None for a name."""
    if not host or not all(c in "0123456789abcdefx." for c in host.lower()):
        return None
    if not host[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _parse(url: str) -> _Target:
    if not isinstance(url, str) or not url.strip():
        raise FetchRefused("Give an http:// or https:// URL.", field="url")
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in url.strip()):
        raise FetchRefused("The URL holds spaces or control characters.", field="url")
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise FetchRefused(f"The URL is malformed: {exc}.", field="url") from exc
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise FetchRefused("Only http:// and https:// URLs can be fetched.", field="url")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused("The URL may not carry a user name or password.", field="url")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise FetchRefused("The URL has no host.", field="url")
    if port is None:
        port = _SCHEMES[scheme]
    if not 1 <= port <= 65535:
        raise FetchRefused("The URL's port is not allowed.", field="url")
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host.split("%", 1)[0])
        host = str(literal)
    except ValueError:
        literal = _legacy_ipv4(host)
        if literal is not None:
            host = str(literal)
        else:
            try:
                host = host.encode("idna").decode("ascii").lower()
            except UnicodeError as exc:
                raise FetchRefused("The URL's host name is not valid.", field="url") from exc
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return _Target(scheme=scheme, host=host, port=port, path=path, literal_ip=literal)


def check_url(url: str) -> None:
    """Raise ``FetchRefused`` if ``url`` can never be fetched: a bad scheme,
    port or host, credentials in it, or a literal IP that is forbidden. No
    network: a host name is checked only when it is fetched (form validation)."""
    target = _parse(url)
    if target.literal_ip is not None:
        reason = address_refusal(target.literal_ip)
        if reason:
            raise FetchRefused(f"This address may not be fetched: {reason}", field="url")


def _resolve(target: _Target, deadline: float) -> IPAddress:
    """The one address to connect to: every address the name resolves to is
    checked, and the first is used (pinned)."""
    if target.literal_ip is not None:
        addresses = [target.literal_ip]
    else:
        try:
            infos = socket.getaddrinfo(
                target.host, target.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (OSError, UnicodeError) as exc:
            raise FetchFailed(f"{target.host} could not be resolved: {exc}.", field="url") from exc
        addresses = []
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if ip not in addresses:
                addresses.append(ip)
        if not addresses:
            raise FetchFailed(f"{target.host} resolves to no address.", field="url")
    for ip in addresses:
        reason = address_refusal(ip)
        if reason:
            raise FetchRefused(f"{target.host} may not be fetched: {reason}", field="url")
    if time.monotonic() >= deadline:
        raise FetchFailed("The request timed out.", field="url")
    return addresses[0]


# --- connections -------------------------------------------------------------


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    extra = getattr(settings, "DISCLOSURE_FETCH_CA_FILE", "") or ""
    if extra:
        context.load_verify_locations(cafile=extra)
    return context


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP(S) connection whose Host header and certificate check use the
    host name, while the socket goes to the pinned, checked address."""

    def __init__(self, target: _Target, ip: IPAddress, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target
        self._ip = ip
        # Kept after http.client hands the socket to the response (and
        # forgets it), so the watchdog can still shut it down.
        self.raw_sock: socket.socket | None = None

    def connect(self) -> None:
        family = socket.AF_INET6 if self._ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.raw_sock = sock
            sock.settimeout(self.timeout)
            sock.connect((str(self._ip), self._target.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._target.scheme == "https":
                server_hostname = None if self._target.literal_ip else self._target.host
                sock = _tls_context().wrap_socket(
                    sock, server_hostname=server_hostname, do_handshake_on_connect=False
                )
                self.raw_sock = sock
                sock.do_handshake()
                if self._target.literal_ip is not None:
                    # An IP literal: the certificate must name that IP.
                    cert = sock.getpeercert()
                    if not _cert_names_ip(cert, self._target.literal_ip):
                        raise ssl.SSLCertVerificationError(
                            f"certificate does not name {self._target.literal_ip}"
                        )
        except BaseException:
            sock.close()
            raise
        self.sock = self.raw_sock = sock


def _cert_names_ip(cert: dict | None, ip: IPAddress) -> bool:
    for kind, value in (cert or {}).get("subjectAltName", ()):
        if kind == "IP Address":
            try:
                if ipaddress.ip_address(value.strip()) == ip:
                    return True
            except ValueError:
                continue
    return False


class _Watchdog:
    """Shuts the connection's socket down at the deadline, so no read or
    write can outlive the total time budget."""

    def __init__(self, conn: _PinnedConnection, deadline: float) -> None:
        self.fired = False
        self._conn = conn
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        sock = self._conn.raw_sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _one_request(
    method: str,
    target: _Target,
    ip: IPAddress,
    *,
    body: bytes | None,
    headers: Mapping[str, str],
    deadline: float,
    max_bytes: int,
) -> tuple[int, str, list[tuple[str, str]], bytes, bool]:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise FetchFailed("The request timed out.", field="url")
    conn = _PinnedConnection(target, ip, timeout=remaining)
    watchdog = _Watchdog(conn, deadline)
    try:
        with watchdog:
            conn.putrequest(method, target.path, skip_host=True, skip_accept_encoding=True)
            sent = {k.lower() for k in headers}
            conn.putheader("Host", target.host_header)
            if "user-agent" not in sent:
                conn.putheader("User-Agent", "Disclosure-guarded-fetch/1")
            if "accept-encoding" not in sent:
                conn.putheader("Accept-Encoding", "identity")
            if "connection" not in sent:
                conn.putheader("Connection", "close")
            for name, value in headers.items():
                if name.lower() in {"host", "content-length", "transfer-encoding"}:
                    continue
                conn.putheader(name, value)
            if body is not None or method.upper() in {"POST", "PUT", "PATCH"}:
                conn.putheader("Content-Length", str(len(body or b"")))
            conn.endheaders(body or None)
            response = conn.getresponse()
            chunks: list[bytes] = []
            size = 0
            truncated = False
            while True:
                chunk = (
                    response.read1(min(65536, max_bytes - size + 1)) if size <= max_bytes else b""
                )
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:
                    truncated = True
                    break
            data = b"".join(chunks)[:max_bytes]
            status, reason = response.status, response.reason or ""
            resp_headers = [(k, v) for k, v in response.getheaders()]
    except FetchFailed:
        raise
    except (OSError, http.client.HTTPException, ValueError) as exc:
        if watchdog.fired or isinstance(exc, TimeoutError | socket.timeout):
            raise FetchFailed("The request timed out.", field="url") from exc
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            raise FetchFailed(f"TLS failed: {exc}.", field="url") from exc
        raise FetchFailed(f"The request failed: {exc}.", field="url") from exc
    finally:
        conn.close()
    if watchdog.fired and not truncated:
        # The socket was shut mid-body: what was read is not the whole answer.
        raise FetchFailed("The request timed out.", field="url")
    return status, reason, resp_headers, data, truncated


def guarded_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float | None = None,
    max_bytes: int | None = None,
    max_redirects: int = 0,
) -> FetchResult:
    """Send one request through the guards described in the module docstring
    and return the answer (any status: a 4xx or 5xx is a result, not an
    error). With ``max_redirects == 0`` a 3xx answer is returned as it is.
    Raises ``FetchRefused`` before any connection to a forbidden address,
    and ``FetchFailed`` when the exchange fails or exceeds ``timeout``."""
    method = (method or "").upper()
    if not method.isalpha():
        raise FetchRefused("The HTTP method is not valid.", field="method")
    timeout = float(timeout if timeout is not None else settings.DISCLOSURE_FETCH_TIMEOUT)
    max_bytes = int(max_bytes if max_bytes is not None else settings.DISCLOSURE_FETCH_MAX_BYTES)
    if timeout <= 0 or max_bytes < 0 or max_redirects < 0:
        raise FetchRefused("The time-out, size cap and redirect limit must be positive.")
    started = time.monotonic()
    deadline = started + timeout
    current_headers = dict(headers or {})
    redirects: list[str] = []
    target = _parse(url)
    current_url = url.strip()
    while True:
        ip = _resolve(target, deadline)
        status, reason, resp_headers, data, truncated = _one_request(
            method,
            target,
            ip,
            body=body,
            headers=current_headers,
            deadline=deadline,
            max_bytes=max_bytes,
        )
        location = next((v for k, v in resp_headers if k.lower() == "location"), None)
        if status not in _REDIRECT_STATUSES or not location or len(redirects) >= max_redirects:
            return FetchResult(
                url=current_url,
                address=str(ip),
                port=target.port,
                status=status,
                reason=reason,
                headers=resp_headers,
                body=data,
                truncated=truncated,
                elapsed_ms=int((time.monotonic() - started) * 1000),
                redirects=redirects,
            )
        next_url = urljoin(current_url, location.strip())
        next_target = _parse(next_url)
        if (next_target.scheme, next_target.host, next_target.port) != (
            target.scheme,
            target.host,
            target.port,
        ):
            current_headers = {}
        if status == 303 or (status in {301, 302} and method == "POST"):
            method, body = "GET", None
        redirects.append(current_url)
        current_url, target = next_url, next_target
