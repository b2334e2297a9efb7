"""The only URL fetcher WeasyPrint gets: ``data:`` URLs and nothing else.

User and vendor text is escaped by the templates, so it can never become
markup; this is the second wall. Whatever URL reaches the renderer (an
``<img src>``, a ``<link>``, a CSS ``url()``, an attachment), every scheme
but ``data:`` is refused before any file is opened or any connection made,
and nothing is ever redirected: a ``data:`` URL is decoded here, by this
module, without urllib's handlers. WeasyPrint 70 takes a ``URLFetcher``
instance (the API changed in 70: no longer a function returning a dict).
"""

import base64
import binascii
import logging
from urllib.parse import unquote_to_bytes

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger(__name__)

ALLOWED_SCHEMES = frozenset({"data"})
MAX_DATA_BYTES = 8 * 1024 * 1024  # a font is well under this


class RefusedURL(ValueError):
    """A URL the export renderer will not fetch."""


class DataOnlyURLFetcher(URLFetcher):
    """Decode ``data:`` URLs; refuse everything else, and remember what was
    refused (``refused``) so that tests and logs can show it."""

    def __init__(self) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols=ALLOWED_SCHEMES,
            allow_redirects=False,
            fail_on_errors=False,
        )
        self.refused: list[str] = []

    def fetch(self, url, headers=None):
        text = str(url)
        scheme = text.split(":", 1)[0].strip().lower() if ":" in text else ""
        if scheme not in ALLOWED_SCHEMES:
            self.refused.append(text[:200])
            log.warning("export renderer refused to fetch %r", text[:200])
            raise RefusedURL(f"the export renderer fetches data: URLs only, not {text[:80]!r}")
        return _decode_data_url(text)

    def open(self, url, data=None, timeout=None):  # never urllib's OpenerDirector
        return self.fetch(getattr(url, "full_url", url))


def _decode_data_url(url: str) -> URLFetcherResponse:
    """RFC 2397: ``data:[<media type>][;base64],<data>``."""
    try:
        header, payload = url[len("data:") :].split(",", 1)
    except ValueError:
        raise RefusedURL("malformed data: URL") from None
    parts = [p.strip() for p in header.split(";")]
    is_base64 = parts[-1].lower() == "base64"
    if is_base64:
        parts = parts[:-1]
    media_type = parts[0] or "text/plain"
    params = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    raw = unquote_to_bytes(payload)
    if is_base64:
        try:
            raw = base64.b64decode(raw, validate=False)
        except binascii.Error:
            raise RefusedURL("malformed base64 in a data: URL") from None
    if len(raw) > MAX_DATA_BYTES:
        raise RefusedURL("data: URL too large")
    headers = {"Content-Type": media_type}
    if "charset" in params:
        headers["Content-Type"] += f"; charset={params['charset']}"
    return URLFetcherResponse(url[:64], raw, headers, 200)
