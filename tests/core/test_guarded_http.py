"""The guarded client against real servers on 127.0.0.1: what it fetches,
what it refuses before connecting, pinning, caps, redirects and TLS."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from disclosure.core.guarded_http import (
    FetchFailed,
    FetchRefused,
    FetchResult,
    check_url,
    guarded_request,
)
from tests.localhttp import Answer, fake_resolver, local_server, raw_server

REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture
def allow_private(settings):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = True
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = []


@pytest.fixture
def deny_private(settings):
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = []


@pytest.fixture
def only_loopback_one(settings):
    """127.0.0.1 alone is allowed: a server there may redirect elsewhere."""
    settings.DISCLOSURE_FETCH_ALLOW_PRIVATE = False
    settings.DISCLOSURE_FETCH_ALLOWED_NETWORKS = ["127.0.0.1/32"]


@pytest.fixture
def server():
    with local_server() as s:
        yield s


def resolve(monkeypatch, table):
    fake = fake_resolver(table, REAL_GETADDRINFO)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


# --- fetching ----------------------------------------------------------------


def test_get_returns_status_headers_body_and_pinned_address(allow_private, server):
    server.answers["/listing"] = Answer(200, b"<ListBucketResult/>", {"X-Probe": "yes"})
    result = guarded_request("GET", server.url("/listing?list-type=2"))
    assert isinstance(result, FetchResult)
    assert result.status == 200
    assert result.reason == "OK"
    assert result.body == b"<ListBucketResult/>"
    assert result.truncated is False
    assert result.address == "127.0.0.1"
    assert result.port == server.port
    assert ("X-Probe", "yes") in result.headers
    assert result.header("x-probe") == "yes"
    assert result.redirects == []
    assert result.url == server.url("/listing?list-type=2")
    assert 0 <= result.elapsed_ms < 5000
    seen = server.requests[0]
    assert (seen.method, seen.path) == ("GET", "/listing?list-type=2")
    assert seen.headers["Host"] == f"127.0.0.1:{server.port}"
    assert seen.headers["Accept-Encoding"] == "identity"


def test_a_4xx_is_a_result_not_an_error(allow_private, server):
    server.answers["/"] = Answer(403, b"AccessDenied")
    result = guarded_request("GET", server.url("/"))
    assert (result.status, result.body) == (403, b"AccessDenied")


def test_post_sends_body_and_headers(allow_private, server):
    server.answers["/hook"] = Answer(204)
    result = guarded_request(
        "POST",
        server.url("/hook"),
        body=b'{"a":1}',
        headers={"Content-Type": "application/json", "X-Signature": "abc"},
    )
    assert result.status == 204
    seen = server.requests[0]
    assert seen.method == "POST"
    assert seen.body == b'{"a":1}'
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Signature"] == "abc"
    assert seen.headers["Content-Length"] == "7"


def test_body_is_capped_and_marked_truncated(allow_private, server):
    server.answers["/big"] = Answer(200, b"x" * 5000)
    server.answers["/exact"] = Answer(200, b"y" * 1000)
    big = guarded_request("GET", server.url("/big"), max_bytes=1000)
    assert (len(big.body), big.truncated) == (1000, True)
    exact = guarded_request("GET", server.url("/exact"), max_bytes=1000)
    assert (len(exact.body), exact.truncated) == (1000, False)


def test_body_cap_defaults_to_setting(allow_private, server, settings):
    settings.DISCLOSURE_FETCH_MAX_BYTES = 10
    server.answers["/"] = Answer(200, b"0123456789abcdef")
    result = guarded_request("GET", server.url("/"))
    assert (result.body, result.truncated) == (b"0123456789", True)


def test_total_time_is_capped_against_a_trickling_server(allow_private, server):
    server.answers["/slow"] = Answer(200, b"z" * 100, trickle=0.1)
    started = time.monotonic()
    with pytest.raises(FetchFailed, match="timed out"):
        guarded_request("GET", server.url("/slow"), timeout=0.8)
    assert time.monotonic() - started < 2.5


def test_time_out_defaults_to_setting(allow_private, server, settings):
    settings.DISCLOSURE_FETCH_TIMEOUT = 0.5
    server.answers["/slow"] = Answer(200, b"z" * 100, trickle=0.1)
    with pytest.raises(FetchFailed):
        guarded_request("GET", server.url("/slow"))


def test_connection_refused_is_a_failure(allow_private):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    with pytest.raises(FetchFailed) as caught:
        guarded_request("GET", f"http://127.0.0.1:{port}/", timeout=2)
    assert caught.value.code == "fetch_failed"


def test_malformed_answer_is_a_failure(allow_private):
    with raw_server(b"SSH-2.0-OpenSSH_9.6\r\n") as port, pytest.raises(FetchFailed):
        guarded_request("GET", f"http://127.0.0.1:{port}/", timeout=2)


# --- refusals (setting off) ---------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:8080/",
        "http://127.0.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:10.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://[fe80::1]/",
        "http://[fd00:ec2::254]/",
        "http://224.0.0.1/",
        "http://[64:ff9b::a00:1]/",
        "http://[2002:7f00:1::]/",
    ],
)
def test_forbidden_addresses_are_refused_without_connecting(deny_private, monkeypatch, url):
    def no_connect(*args, **kwargs):
        raise AssertionError("no connection may be opened")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    with pytest.raises(FetchRefused) as caught:
        guarded_request("GET", url)
    assert caught.value.code == "fetch_refused"
    assert caught.value.field == "url"
    with pytest.raises(FetchRefused):
        check_url(url)


def test_loopback_server_gets_no_request_with_setting_off(deny_private, server):
    server.answers["/"] = Answer(200, b"public")
    with pytest.raises(FetchRefused):
        guarded_request("GET", server.url("/"))
    assert server.requests == []


def test_name_resolving_to_loopback_is_refused(deny_private, monkeypatch, server):
    fake = resolve(monkeypatch, {"evil.example": ["127.0.0.1"]})
    server.answers["/"] = Answer(200, b"public")
    with pytest.raises(FetchRefused, match=r"evil\.example"):
        guarded_request("GET", f"http://evil.example:{server.port}/")
    assert fake.calls == ["evil.example"]
    assert server.requests == []


def test_name_with_any_forbidden_address_is_refused(deny_private, monkeypatch):
    resolve(monkeypatch, {"mixed.example": ["93.184.216.34", "10.0.0.1"]})
    with pytest.raises(FetchRefused, match=r"10\.0\.0\.1"):
        guarded_request("GET", "http://mixed.example/")


def test_check_url_does_not_resolve_names(deny_private, monkeypatch):
    def no_dns(*args, **kwargs):
        raise AssertionError("check_url may not resolve")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    check_url("https://bucket.s3.amazonaws.com/?list-type=2")
    check_url("http://example.org:9200/_cat/indices")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.org/",
        "file:///etc/passwd",
        "gopher://example.org/",
        "http:///nohost",
        "http://user:secret@example.org/",
        "http://example.org:0/",
        "http://example.org:99999/",
        "",
        "http://exa mple.org/",
    ],
)
def test_bad_urls_are_refused(deny_private, url):
    with pytest.raises(FetchRefused):
        check_url(url)
    with pytest.raises(FetchRefused):
        guarded_request("GET", url)


def test_metadata_is_refused_even_when_private_is_allowed(allow_private):
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://100.100.100.200/"):
        with pytest.raises(FetchRefused, match="metadata"):
            check_url(url)
        with pytest.raises(FetchRefused, match="metadata"):
            guarded_request("GET", url)


def test_allowed_networks_open_only_those_addresses(only_loopback_one, server):
    server.answers["/"] = Answer(200, b"ok")
    assert guarded_request("GET", server.url("/")).status == 200
    with pytest.raises(FetchRefused):
        check_url("http://127.0.0.2/")
    with pytest.raises(FetchRefused):
        check_url("http://10.0.0.1/")


# --- pinning ------------------------------------------------------------------


def test_name_is_resolved_once_and_connection_pinned(allow_private, monkeypatch, server):
    fake = resolve(monkeypatch, {"pinned.example": ["127.0.0.1"]})
    server.answers["/"] = Answer(200, b"hello")
    result = guarded_request("GET", f"http://pinned.example:{server.port}/")
    assert result.address == "127.0.0.1"
    assert result.body == b"hello"
    assert fake.calls == ["pinned.example"]
    assert server.requests[0].headers["Host"] == f"pinned.example:{server.port}"


def test_rebinding_answer_after_the_check_is_never_used(only_loopback_one, monkeypatch, server):
    """First answer allowed, later ones forbidden: the one request uses the
    first answer only (one lookup), so a rebinding DNS gains nothing."""
    answers = iter([["127.0.0.1"], ["10.0.0.1"], ["10.0.0.1"]])
    calls = []

    def rebinding(host, port, *args, **kwargs):
        calls.append(host)
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in next(answers)
        ]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    server.answers["/"] = Answer(200, b"ok")
    result = guarded_request("GET", f"http://rebind.example:{server.port}/")
    assert (result.status, result.address) == (200, "127.0.0.1")
    assert calls == ["rebind.example"]


# --- redirects ----------------------------------------------------------------


def test_redirects_are_not_followed_by_default(allow_private, server):
    server.answers["/r"] = Answer(302, b"", {"Location": "/final"})
    result = guarded_request("GET", server.url("/r"))
    assert result.status == 302
    assert result.header("Location") == "/final"
    assert [r.path for r in server.requests] == ["/r"]


def test_allowed_redirect_is_followed_and_listed(only_loopback_one, server):
    server.answers["/r"] = Answer(301, b"", {"Location": "/final"})
    server.answers["/final"] = Answer(200, b"done")
    result = guarded_request("GET", server.url("/r"), max_redirects=2)
    assert (result.status, result.body) == (200, b"done")
    assert result.redirects == [server.url("/r")]
    assert result.url == server.url("/final")


def test_too_many_redirects_return_the_last_3xx(only_loopback_one, server):
    server.answers["/a"] = Answer(302, b"", {"Location": "/b"})
    server.answers["/b"] = Answer(302, b"", {"Location": "/a"})
    result = guarded_request("GET", server.url("/a"), max_redirects=3)
    assert result.status == 302
    assert len(result.redirects) == 3


@pytest.mark.parametrize(
    "location",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://[::1]/",
        "http://127.0.0.2/",
        "http://internal.example/",  # resolves to 10.0.0.1 (patched DNS)
        "file:///etc/passwd",
    ],
)
def test_redirect_to_forbidden_target_is_refused(only_loopback_one, monkeypatch, server, location):
    resolve(monkeypatch, {"internal.example": ["10.0.0.1"]})
    server.answers["/r"] = Answer(302, b"", {"Location": location})
    with pytest.raises(FetchRefused):
        guarded_request("GET", server.url("/r"), max_redirects=5)
    assert [r.path for r in server.requests] == ["/r"]


def test_cross_origin_redirect_drops_caller_headers(allow_private, monkeypatch, server):
    resolve(monkeypatch, {"other.example": ["127.0.0.1"]})
    server.answers["/r"] = Answer(
        307, b"", {"Location": f"http://other.example:{server.port}/final"}
    )
    server.answers["/final"] = Answer(200, b"ok")
    guarded_request("GET", server.url("/r"), headers={"Authorization": "secret"}, max_redirects=1)
    assert server.requests[0].headers.get("Authorization") == "secret"
    assert "Authorization" not in server.requests[1].headers


# --- TLS ----------------------------------------------------------------------


def _self_signed(tmp_path, name: str):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path = tmp_path / "cert.pem"
    key_path = tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path):
    cert_path, key_path = _self_signed(tmp_path, "secure.example")
    seen_sni = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            return

        def do_GET(self):
            body = b"over tls"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = lambda sock, name, ctx: seen_sni.append(name)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1], cert_path, seen_sni
    httpd.shutdown()
    httpd.server_close()


def test_https_verifies_certificate_against_the_name(
    allow_private, monkeypatch, settings, tls_server
):
    port, cert_path, seen_sni = tls_server
    settings.DISCLOSURE_FETCH_CA_FILE = str(cert_path)
    resolve(monkeypatch, {"secure.example": ["127.0.0.1"], "wrong.example": ["127.0.0.1"]})
    result = guarded_request("GET", f"https://secure.example:{port}/")
    assert (result.status, result.body, result.address) == (200, b"over tls", "127.0.0.1")
    assert seen_sni == ["secure.example"]
    with pytest.raises(FetchFailed, match="TLS"):
        guarded_request("GET", f"https://wrong.example:{port}/", timeout=3)


def test_https_untrusted_certificate_fails(allow_private, monkeypatch, settings, tls_server):
    port, _cert_path, _ = tls_server
    settings.DISCLOSURE_FETCH_CA_FILE = ""
    resolve(monkeypatch, {"secure.example": ["127.0.0.1"]})
    with pytest.raises(FetchFailed, match="TLS"):
        guarded_request("GET", f"https://secure.example:{port}/", timeout=3)
