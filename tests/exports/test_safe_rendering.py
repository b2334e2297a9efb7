"""Safe rendering: text from users and vendors that looks like markup or CSS
is printed literally, and nothing (no file, no URL) is ever read or
requested while rendering; a local listener proves that no connection is made."""

import io
import socket
import threading
from datetime import timedelta
from urllib.request import HTTPRedirectHandler

import pytest
from pypdf import PdfReader

from disclosure.cases import services as case_services
from disclosure.core.timeutils import now
from disclosure.exports import services
from disclosure.exports.bundle import ATTACHMENT_NAME
from disclosure.exports.fetcher import DataOnlyURLFetcher, RefusedURL
from disclosure.exports.models import ExportStatus
from disclosure.exports.worker import write_pdf
from tests.exports.rich_case import *  # noqa: F403
from tests.exports.rich_case import pdf_text, squash
from tests.factories import inbound_kwargs, make_case


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def listener():
    server = Listener()
    yield server
    server.close()


def hostile(port: int) -> list[str]:
    base = f"http://127.0.0.1:{port}"
    return [
        '<img src="file:///etc/passwd">',
        f'<link rel=attachment href="{base}/attach.bin">',
        f"<style>body {{ background: url({base}/bg.png) }}</style>",
        f'<span style="background:url({base}/inline.png)">x</span>',
        f"@import url({base}/evil.css);",
        f'<img src="{base}/pixel.gif">',
        '<object data="file:///etc/shadow"></object>',
        "<script>alert(1)</script>",
    ]


def _passwd_line() -> bytes:
    try:
        with open("/etc/passwd", "rb") as f:
            return f.readline().strip()
    except OSError:
        return b"root:x:0:0"


@pytest.mark.django_db
def test_hostile_text_is_printed_literally_and_nothing_is_fetched(
    lead, legal, vendor, export_storage, listener, django_capture_on_commit_callbacks
):
    evil = hostile(listener.port)
    joined = "\n".join(evil)
    start = now() - timedelta(days=5)
    case = make_case(
        "vendor_notified",
        actor=lead,
        vendor=vendor,
        start=start,
        summary=joined,
        how_found=evil[3],
    )
    case_services.log_communication(
        actor=lead,
        case=case,
        **inbound_kwargs(start + timedelta(hours=2), subject=evil[1][:200], body=joined),
    )
    case_services.file_dispute(
        actor=lead,
        case=case,
        subject=evil[0],
        firm_position=evil[2],
        firm_provenance=evil[4],
        vendor_position=evil[5],
        vendor_provenance=evil[6],
    )
    case_services.escalate(
        actor=lead,
        case=case,
        target="cert",
        organization="CERT",
        reason=joined,
        escalated_at=start + timedelta(hours=3),
    )
    with django_capture_on_commit_callbacks(execute=True):
        export = services.request_export(actor=legal, case=case)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    _, data = services.record_download(actor=legal, export=export)

    assert listener.connections == 0
    text = squash(pdf_text(data))
    for snippet in evil:
        assert squash(snippet) in text, snippet
    assert _passwd_line() not in data and _passwd_line().decode() not in text
    reader = PdfReader(io.BytesIO(data))
    assert list(reader.attachments) == [ATTACHMENT_NAME]
    for page in reader.pages:
        xobjects = page["/Resources"].get_object().get("/XObject", {})
        assert not any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())


def test_the_renderer_itself_refuses_every_url_even_in_raw_markup(listener):
    """The second wall: markup that escaped nothing (written straight to the
    renderer) still reads no file and opens no connection."""
    base = f"http://127.0.0.1:{listener.port}"
    html = (
        "<html><head>"
        f'<link rel="stylesheet" href="{base}/a.css">'
        f'<link rel="attachment" href="{base}/att.bin">'
        '<link rel="attachment" href="file:///etc/passwd">'
        f"<style>@import url({base}/b.css); body {{ background: url({base}/c.png) }}"
        f"@font-face {{ font-family: X; src: url({base}/f.ttf) }} p {{ font-family: X }}</style>"
        "</head><body>"
        f'<img src="{base}/d.png"><img src="file:///etc/passwd"><p>text</p>'
        f'<object data="{base}/e.svg"></object>'
        "</body></html>"
    )
    css = f"div {{ background: url({base}/g.png) }} @import url(ftp://127.0.0.1/x.css);"
    data, refused = write_pdf(html, css, pdf_identifier=b"0" * 32)
    assert listener.connections == 0
    assert any("file:///etc/passwd" in url for url in refused)
    assert sum(base in url for url in refused) >= 5
    reader = PdfReader(io.BytesIO(data))
    assert list(reader.attachments) == []
    assert _passwd_line() not in data


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x",
        "https://example.com/x",
        "ftp://example.com/x",
        "FILE:///etc/hosts",
        "gopher://127.0.0.1/",
        "/etc/passwd",
        "relative.css",
        " javascript:alert(1)",
    ],
)
def test_the_fetcher_refuses_every_scheme_but_data(url):
    fetcher = DataOnlyURLFetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(url)
    with pytest.raises(RefusedURL):
        fetcher.open(url)
    assert fetcher.refused


def test_the_fetcher_decodes_data_urls_and_never_redirects():
    fetcher = DataOnlyURLFetcher()
    assert fetcher.fetch("data:text/plain;base64,aGVsbG8=").read() == b"hello"
    assert fetcher.fetch("data:,a%20b").read() == b"a b"
    response = fetcher.fetch("data:text/css;charset=utf-8,p{}")
    assert response.content_type == "text/css" and response.charset == "utf-8"
    assert not any(isinstance(h, HTTPRedirectHandler) for h in fetcher.handlers)
    assert fetcher.refused == []
