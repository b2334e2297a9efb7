"""Signing a webhook: ``Disclosure-Signature: t=<unix time>,v1=<hex>``,
where ``hex = HMAC-SHA256(secret, f"{t}." + body)`` (docs/webhooks.md says
how a receiver checks it)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

SIGNATURE_HEADER = "Disclosure-Signature"
DELIVERY_HEADER = "Disclosure-Delivery"
EVENT_HEADER = "Disclosure-Event"
USER_AGENT = "Disclosure-Webhooks/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}."`` + ``body`` under ``secret``."""
    message = f"{timestamp}.".encode("ascii") + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """The value of ``Disclosure-Signature`` for ``body`` sent at ``timestamp``."""
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: int, tolerance: int = 300) -> bool:
    """What a receiver does: whether ``header`` signs ``body`` with ``secret``
    and its time lies within ``tolerance`` seconds of ``now`` (a replayed old
    request fails). Constant-time comparison."""
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))


def headers_for(row: Any, secret: str, body: bytes, *, at: datetime) -> dict[str, str]:
    """The headers of one attempt of delivery ``row``: JSON, the event kind,
    the delivery id (also as ``Idempotency-Key``) and the signature made at
    ``at``."""
    timestamp = int(at.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: row.event_kind,
        DELIVERY_HEADER: str(row.delivery_id),
        "Idempotency-Key": str(row.delivery_id),
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
    }
