"""RFC 3161 time-stamping: asking the configured TSA, and checking its tokens.

``DISCLOSURE_TSA_URL`` names the time-stamping authority (empty: none, and
nothing is timestamped). ``DISCLOSURE_TSA_TRUST`` optionally holds the CA
certificates (PEM text or the path of a PEM or DER file) that its
certificate must chain to; without it a token's signature is still checked
against the TSA certificate the token carries, but the TSA itself is not
anchored (and the report says so). ``DISCLOSURE_TSA_TIMEOUT`` caps one
request, in seconds.

The TSA URL is the operator's setting, never user input, so requests go
straight to it (not through the guarded client for user-supplied addresses).
A token here is always the DER of an RFC 3161 ``TimeStampToken``: a CMS
``ContentInfo`` holding ``SignedData`` that encapsulates a ``TSTInfo``.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import cms, tsp
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.timestamps import HTTPTimeStamper, TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

# What asking a TSA may raise when it is down, slow or answers nonsense.
TSA_ERRORS = (TimestampRequestError, OSError, ValueError)


class TimestampUnavailable(Exception):
    """The TSA could not be asked, or refused, or answered nonsense."""


def tsa_url() -> str:
    return (getattr(settings, "DISCLOSURE_TSA_URL", "") or "").strip()


def tsa_configured() -> bool:
    return bool(tsa_url())


class DerTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP client, whose tokens come back re-encoded in DER.

    TSAs (OpenSSL's among them) list a token's certificates in any order,
    where DER sorts that SET OF; the export verifier refuses a signature
    that is not exactly DER (so that no byte outside the signed range can
    change unnoticed). Re-encoding moves no byte the TSA signed."""

    async def async_timestamp(self, message_digest, md_algorithm) -> cms.ContentInfo:
        token = await super().async_timestamp(message_digest, md_algorithm)
        return cms.ContentInfo.load(token.dump(force=True))


def timestamper() -> HTTPTimeStamper | None:
    """pyHanko's RFC 3161 client for the configured TSA (None: no TSA)."""
    url = tsa_url()
    if not url:
        return None
    return DerTimeStamper(url, timeout=getattr(settings, "DISCLOSURE_TSA_TIMEOUT", 10))


def request_token(digest: bytes, md_algorithm: str = "sha256") -> bytes:
    """The DER token of the configured TSA over ``digest`` (its nonce
    checked by pyHanko). Raises TimestampUnavailable when the TSA is down or
    refuses, ImproperlyConfigured when there is none."""
    stamper = timestamper()
    if stamper is None:
        raise ImproperlyConfigured("DISCLOSURE_TSA_URL is not set.")
    try:
        token = asyncio.run(stamper.async_timestamp(digest, md_algorithm))
        return token.dump()
    except TSA_ERRORS as exc:
        cause = exc.__cause__ or exc
        raise TimestampUnavailable(f"{type(cause).__name__}: {cause}") from exc


def trust_roots() -> list:
    """The CA certificates of ``DISCLOSURE_TSA_TRUST`` (empty: not set)."""
    value = (getattr(settings, "DISCLOSURE_TSA_TRUST", "") or "").strip()
    if not value:
        return []
    data = value.encode() if value.startswith("-----BEGIN") else Path(value).read_bytes()
    certs = list(load_certs_from_pemder_data(data))
    if not certs:
        raise ImproperlyConfigured("DISCLOSURE_TSA_TRUST holds no certificate.")
    return certs


@dataclass(frozen=True)
class TokenCheck:
    """What checking one token found. ``ok``: well-formed, over the
    expected imprint, its signature valid under the TSA certificate it
    carries (which is marked for time stamping), and, when anchors were
    given, chaining to one of them."""

    ok: bool
    time: datetime | None = None
    tsa: str = ""
    anchored: bool = False  # its certificate chains to a given anchor
    problem: str = ""

    def describe(self) -> str:
        if not self.ok:
            return self.problem
        when = f"{self.time:%Y-%m-%d %H:%M:%S %Z}" if self.time else "?"
        anchor = "chains to the trusted TSA CA" if self.anchored else "TSA not anchored"
        return f"{when} (RFC 3161, {self.tsa}; {anchor})"


def check_token(token: bytes, imprint: bytes, roots: list | None = None) -> TokenCheck:
    """Check the DER ``token`` as a timestamp over ``imprint`` (a SHA-256
    digest). With ``roots`` (CA certificates), the TSA must chain to one."""
    try:
        info = cms.ContentInfo.load(token)
        if info["content_type"].native != "signed_data":
            return TokenCheck(False, problem="the token is not CMS SignedData")
        signed = info["content"]
        tst = signed["encap_content_info"]["content"].parsed
        if not isinstance(tst, tsp.TSTInfo):
            return TokenCheck(False, problem="the token holds no TSTInfo")
        mi = tst["message_imprint"]
        if mi["hash_algorithm"]["algorithm"].native != "sha256" or (
            mi["hashed_message"].native != imprint
        ):
            return TokenCheck(False, problem="the token is over another hash (imprint mismatch)")
        # Without anchors, the certificates the token carries stand in for
        # them: the signature, the certificates' own signatures and the
        # time-stamping key usage are still checked, only not anchored.
        anchors = list(roots or []) or [c.chosen for c in signed["certificates"] or []]
        context = ValidationContext(trust_roots=anchors, allow_fetching=False)
        kwargs = asyncio.run(validate_tst_signed_data(signed, context, lambda algo: imprint))
        status = TimestampSignatureStatus(**kwargs)
    except Exception as exc:  # asn1crypto and pyHanko raise many kinds on a damaged token
        return TokenCheck(False, problem=f"the token is damaged ({type(exc).__name__}: {exc})")
    subject = status.signing_cert.subject.human_friendly if status.signing_cert else "?"
    if not (status.intact and status.valid):
        return TokenCheck(
            False, tsa=subject, problem=f"the token's signature by {subject} does not verify"
        )
    if not status.trusted:
        return TokenCheck(
            False,
            time=status.timestamp,
            tsa=subject,
            problem=f"the TSA {subject} does not chain to the trusted TSA CA"
            if roots
            else f"the TSA certificate of {subject} is not valid for time stamping",
        )
    return TokenCheck(True, time=status.timestamp, tsa=subject, anchored=bool(roots))


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
