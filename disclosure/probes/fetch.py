"""One anonymous fetch of an asset through the guarded client, and the
capture that is kept as evidence. No database here: the runs fetch in
threads and record in one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from disclosure.core.guarded_http import FetchFailed, FetchRefused, guarded_request
from disclosure.core.hashing import sha256_hex
from disclosure.core.timeutils import iso_utc, now

from .models import Verdict
from .targets import verdict_for

CAPTURE_FORMAT = "disclosure-probe-capture/1"
# Headers kept on the result row (all of them, capped, are in the capture).
SELECTED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "server",
        "date",
        "last-modified",
        "etag",
        "location",
        "www-authenticate",
        "x-amz-bucket-region",
        "x-amz-request-id",
        "x-ms-request-id",
        "x-ms-error-code",
        "x-guploader-uploadid",
        "x-elastic-product",
    }
)
MAX_CAPTURED_HEADERS = 100
MAX_HEADER_CHARS = 1000
# Who the probe says it is: an anonymous visitor, honestly named.
USER_AGENT = "Disclosure-reprobe/1 (coordinated disclosure re-test)"


@dataclass(frozen=True)
class Outcome:
    """What one probe found; ``capture()`` is the evidence file's content."""

    url: str
    probed_at: datetime
    verdict: Verdict
    address: str = ""
    port: int | None = None
    http_status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    redirects: list[str] = field(default_factory=list)
    sample_sha256: str = ""
    sample_bytes: int = 0
    truncated: bool = False
    elapsed_ms: int = 0
    error: str = ""

    @property
    def selected_headers(self) -> list[list[str]]:
        return [[k, v] for k, v in self.headers if k.lower() in SELECTED_HEADERS]

    def capture(self, *, reference: str) -> bytes:
        """The capture as JSON (sorted keys, UTF-8): the evidence file."""
        document = {
            "format": CAPTURE_FORMAT,
            "case": reference,
            "url": self.url,
            "probed_at": iso_utc(self.probed_at),
            "address": self.address,
            "port": self.port,
            "status": self.http_status,
            "reason": self.reason,
            "headers": [[k, v] for k, v in self.headers],
            "redirects": list(self.redirects),
            "body_sample_sha256": self.sample_sha256,
            "body_sample_bytes": self.sample_bytes,
            "body_truncated": self.truncated,
            "elapsed_ms": self.elapsed_ms,
            "verdict": str(self.verdict),
            "error": self.error,
        }
        return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False).encode()


def probe(url: str) -> Outcome:
    """Fetch ``url`` anonymously (no cookies, no credentials) through the
    guarded client with the probe's time-out and sample cap, following up
    to 3 redirects (each re-checked). Never raises for the network: a
    refusal or failure is an ``error`` outcome saying why."""
    at = now()
    try:
        result = guarded_request(
            "GET",
            url,
            headers={"User-Agent": USER_AGENT, "Accept": "*/*"},
            timeout=settings.DISCLOSURE_PROBE_TIMEOUT,
            max_bytes=settings.DISCLOSURE_PROBE_SAMPLE_BYTES,
            max_redirects=3,
        )
    except (FetchRefused, FetchFailed) as e:
        kind = "Refused" if isinstance(e, FetchRefused) else "Failed"
        return Outcome(
            url=url, probed_at=at, verdict=Verdict.ERROR, error=f"{kind}: {e.message}"[:500]
        )
    headers = [(k[:200], v[:MAX_HEADER_CHARS]) for k, v in result.headers[:MAX_CAPTURED_HEADERS]]
    verdict = verdict_for(result.status)
    error = "" if verdict != Verdict.ERROR else f"Unexpected answer: HTTP {result.status}"
    return Outcome(
        url=url,
        probed_at=at,
        verdict=verdict,
        address=result.address,
        port=result.port,
        http_status=result.status,
        reason=result.reason[:200],
        headers=headers,
        redirects=result.redirects,
        sample_sha256=sha256_hex(result.body),
        sample_bytes=len(result.body),
        truncated=result.truncated,
        elapsed_ms=result.elapsed_ms,
        error=error,
    )
