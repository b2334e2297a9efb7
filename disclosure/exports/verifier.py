#!/usr/bin/env python3
"""Verify a Disclosure case export (PDF) without the Disclosure software.

    python verify_export.py EXPORT.pdf [--trust CA.pem] [--allow-unsigned]
                            [--ledger-key HEX]

Needs only Python 3.11+ and pyHanko (which brings cryptography and
asn1crypto): this file imports nothing else, so it can be handed to a court's
expert on its own. (In the Disclosure project it is both
disclosure/exports/verifier.py, behind ``manage.py verify_export``, and
scripts/verify_export.py; a test keeps the two identical.)

It checks, and prints a line for each check:
  1. the PDF signature (PAdES): present, intact, cryptographically valid, the
     only one, covering every byte of the file but its own value, and that
     value exactly a plain PAdES signature (strict DER, zero padding), so that
     no byte can change unnoticed. The certificates it carries must be
     exactly the signer's and its issuers' up to a self-signed root (or to a
     --trust CA), each once: a second copy of a certificate (same issuer and
     serial number), or a certificate off that path, is refused, as is a
     certificate whose outer signature algorithm differs from the one its
     signed part names. (One freedom is left: a CA certificate signed with
     ECDSA stays valid with the equivalent signature value (r, n - s); its
     content cannot change.)
  2. the signer (the "signer" line): with --trust CA.pem, that its
     certificate chain leads to that CA; without --trust the signer is
     unchecked and the file cannot be VERIFIED (see the verdicts below);
  3. the attached ``disclosure-export.json``: canonical JSON, every event's
     hash recomputed (sha256(prev_hash + canonical JSON of the event without
     its hash)), linked by prev_hash with seq 1..N and ending at the chain
     head, which must also be the head printed in the document (its subject);
     in a vendor export, withheld and projected events are linked, not
     recomputed;
  4. the ledger checkpoint: its Ed25519 signature, its hash, the case's RFC
     9162 Merkle inclusion proof against its root, and that the chain extends
     the checkpointed head;
  5. the checkpoint's key (the "ledger key" line): which anchor vouches for
     it (below). The key the checkpoint names is only the file's own claim:
     anyone can sign a checkpoint with a fresh key.

Trusted time (RFC 3161), the "trusted time" lines: a signing time and a
checkpoint's ``created_at`` are only claimed by whoever made them. When the
deployment has a time-stamping authority, the PDF signature is PAdES B-T (a
signature timestamp token in its unsigned attributes, over the SHA-256 of
the signature value) and the bundle's checkpoint carries
``timestamp_token`` (base64 of the DER RFC 3161 TimeStampToken whose
messageImprint is SHA-256 over the 32 bytes of the checkpoint's ``hash``).
Each token must be over exactly that, signed by the TSA certificate it
carries (valid for time stamping) and, with --tsa-trust CA.pem, chain to
that CA: the time is then printed as trusted; without --tsa-trust it is
printed as not anchored (the verdict does not depend on it). A token that
fails is a bad signature (2) or a bad checkpoint (5); a TSA outside
--tsa-trust is an untrusted signer (4). No token, no line: the time is only
claimed.

A JSON export (the same bundle as a file of its own) is checked the same way
but has neither signature nor printed head, so it needs --allow-unsigned.

Trust anchors and verdicts. A signature proves something only when its key
comes from outside the file. The verifier is given anchors: --trust CA.pem
(the CA certificates the PDF signer must chain to) and --ledger-key HEX (the
deployment's ledger public keys: ``manage.py ledger_public_key`` prints
them; repeatable, for keys retired by a rotation). The checkpoint's key is
anchored when it is one of the --ledger-key keys (pinned), or when it is
covered by a trusted PDF signature: the PDF signer, whose certificate chains
to a --trust CA, signed every byte of the file, the checkpoint and its key
included, so the firm vouches for that key. This is a decision: a pinned key
is the stronger anchor (it holds even against someone who holds the
document-signing key), and when --ledger-key is given the checkpoint must be
signed by one of those keys whatever the PDF signature says.

  VERIFIED (exit 0): every check holds, the PDF signature chains to a --trust
    CA, and the checkpoint's key is pinned or covered by that signature.
  INTACT, NOT AUTHENTICATED (exit 6): every check holds, but an anchor is
    missing, and the verdict names it: "--trust CA.pem for the PDF signer"
    (a signed PDF checked without --trust), "--ledger-key HEX for the
    checkpoint's key" (neither pinned nor covered by a trusted signature),
    or "a signature over the whole file" (a JSON export, or an unsigned PDF
    accepted by --allow-unsigned: no signature covers it as a whole, so it is
    never VERIFIED; a pinned checkpoint then authenticates at most its events
    up to the checkpointed head, never its case summary or records).
  NOT VERIFIED (exit 1 to 5): a check failed.

Exit status: 0 verified; 1 unreadable file or usage error; 2 bad or missing
signature, one that does not cover the whole file, or one that carries a
duplicate or unrelated certificate (an unsigned export is accepted with
--allow-unsigned, as unauthenticated); 3 broken chain, head mismatch or
missing attachment; 4 signer not trusted by --trust (or --trust given for a
file without a signature); 5 bad checkpoint or inclusion proof, or a
checkpoint not signed by a --ledger-key key; 6 intact but not authenticated
(a missing anchor, named). When several checks fail, the first of 1, 2, 4,
3, 5, 6 is returned: 6 only when every other check holds.
"""

import argparse
import asyncio
import base64
import hashlib
import io
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asn1crypto import cms, tsp
from asn1crypto import parser as asn1_parser
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext

OK, UNREADABLE, BAD_SIGNATURE, BROKEN_CHAIN, UNTRUSTED, BAD_CHECKPOINT = 0, 1, 2, 3, 4, 5
NOT_AUTHENTICATED = 6
PRECEDENCE = (UNREADABLE, BAD_SIGNATURE, UNTRUSTED, BROKEN_CHAIN, BAD_CHECKPOINT, NOT_AUTHENTICATED)
MEANING = {
    OK: "all checks hold",
    UNREADABLE: "unreadable file",
    BAD_SIGNATURE: "bad or missing signature",
    BROKEN_CHAIN: "broken chain or head mismatch",
    UNTRUSTED: "untrusted signer",
    BAD_CHECKPOINT: "bad checkpoint",
    NOT_AUTHENTICATED: "intact, not authenticated",
}
# The anchors a NOT_AUTHENTICATED check names as missing.
NEED_TRUST = "--trust CA.pem for the PDF signer"
NEED_LEDGER_KEY = "--ledger-key HEX for the checkpoint's key"
NEED_SIGNATURE = "a signature over the whole file (a signed PDF export checked with --trust CA.pem)"
ATTACHMENT = "disclosure-export.json"
ZERO_HASH = "0" * 64
SUBJECT_RE = re.compile(r"^Disclosure case (?P<reference>\S+) chain head (?P<head>[0-9a-f]{64})$")
HEX64_RE = re.compile(r"^[0-9a-f]{64}$")


class Refused(ValueError):
    """The attachment is not what a Disclosure export attaches."""


# -- canonical JSON, as disclosure/core/canonical.py writes it ---------------


def _no_float(text: str) -> Any:
    raise Refused(f"canonical JSON refuses floats ({text})")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise Refused("an object repeats a key")
    return result


def loads(data: bytes) -> Any:
    """Parse JSON, refusing floats, NaN/Infinity and repeated keys."""
    return json.loads(
        data.decode("utf-8"),
        parse_float=_no_float,
        parse_constant=_no_float,
        object_pairs_hook=_unique_keys,
    )


def canonical_json(value: Any) -> bytes:
    """Sorted keys, compact separators, UTF-8 without ASCII escapes, no
    floats: byte for byte what the ledger hashes."""
    text = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    loads(text.encode("utf-8"))  # a float anywhere raises Refused
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- RFC 9162 inclusion proofs, as disclosure/ledger/merkle.py ---------------


def _leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(index: int, size: int, data: bytes, proof: list[bytes], root: bytes) -> bool:
    """RFC 9162 section 2.1.3.2: whether ``data`` is leaf ``index`` of a tree
    of ``size`` leaves with this ``root``."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    r = _leaf_hash(data)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = _node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# -- the report ---------------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not applicable or skipped, said why
    detail: str
    code: int = OK  # the exit status when this check fails
    anchor: str = ""  # with NOT_AUTHENTICATED: the missing anchor


@dataclass
class Report:
    path: str
    checks: list[Check] = field(default_factory=list)

    def add(
        self, name: str, ok: bool | None, detail: str, code: int = OK, anchor: str = ""
    ) -> bool:
        self.checks.append(Check(name, ok, detail, code, anchor))
        return bool(ok)

    def unanchored(self, name: str, detail: str, anchor: str) -> None:
        """A check that holds as far as the file goes, but rests on no
        anchor the verifier was given: ``anchor`` names the one missing."""
        self.add(name, False, detail, NOT_AUTHENTICATED, anchor)

    def passed(self, name: str) -> bool:
        return any(c.name == name and c.ok is True for c in self.checks)

    @property
    def missing_anchors(self) -> list[str]:
        found = [c.anchor for c in self.checks if c.ok is False and c.code == NOT_AUTHENTICATED]
        return list(dict.fromkeys(found))

    @property
    def exit_code(self) -> int:
        failed = {c.code for c in self.checks if c.ok is False}
        return next((code for code in PRECEDENCE if code in failed), OK)

    def render(self) -> str:
        lines = [f"Disclosure export verification: {self.path}"]
        for c in self.checks:
            mark = {True: " ok ", False: "FAIL", None: " -- "}[c.ok]
            lines.append(f"  [{mark}] {c.name}: {c.detail}")
        code = self.exit_code
        if code == NOT_AUTHENTICATED:
            missing = self.missing_anchors
            label = "missing anchors" if len(missing) > 1 else "missing anchor"
            lines.append(
                f"Result: INTACT, NOT AUTHENTICATED (exit {code}: {label}: {'; '.join(missing)})"
            )
        else:
            verdict = "VERIFIED" if code == OK else "NOT VERIFIED"
            lines.append(f"Result: {verdict} (exit {code}: {MEANING[code]})")
        return "\n".join(lines) + "\n"


# -- 1, 2: the PDF signature ----------------------------------------------


def _der_length(value: bytes) -> int:
    """Length of the DER element at the start of ``value`` (0 if malformed)."""
    if len(value) < 2 or value[0] != 0x30:
        return 0
    first = value[1]
    if first < 0x80:
        return 2 + first
    count = first & 0x7F
    if not 1 <= count <= 4 or len(value) < 2 + count:
        return 0
    return 2 + count + int.from_bytes(value[2 : 2 + count], "big")


def _contents_der(gap: bytes) -> bytes | None:
    """The DER signature in the unsigned gap of the byte range, when the gap
    is exactly ``<hex>`` of it followed by zero padding, in one letter case
    (so no byte there can change without notice); otherwise None."""
    if len(gap) < 2 or gap[:1] != b"<" or gap[-1:] != b">":
        return None
    digits = gap[1:-1]
    if not (re.fullmatch(rb"[0-9A-F]*", digits) or re.fullmatch(rb"[0-9a-f]*", digits)):
        return None
    if len(digits) % 2:
        return None
    value = bytes.fromhex(digits.decode("ascii"))
    length = _der_length(value)
    if not 0 < length <= len(value) or any(value[length:]):
        return None
    return value[:length]


def _signed_by(cert: x509.Certificate, key: Any) -> bool:
    """Whether ``key`` made ``cert``'s signature."""
    tbs, signature = cert.tbs_certificate_bytes, cert.signature
    try:
        params = cert.signature_algorithm_parameters
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, tbs, params, cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, tbs, params)
        else:
            key.verify(signature, tbs)
        return True
    except (InvalidSignature, ValueError, TypeError, AttributeError, UnsupportedAlgorithm):
        return False


def _plain_algorithm(algorithm: Any) -> bool:
    """An AlgorithmIdentifier whose parameters are absent or NULL."""
    return algorithm["parameters"].native is None


def _certificates_problem(signer: Any, carried: list, trust: list | None) -> str | None:
    """What is wrong with the certificates a signature carries, or None.
    They must be exactly the signer's and its issuers' up to a self-signed
    root (or up to a --trust CA), each once: no bytes in the signature that
    no check uses, so none can change unnoticed."""
    seen: set[tuple[bytes, int]] = set()
    for cert in carried:
        identity = (cert.issuer.dump(), cert.serial_number)
        if identity in seen:
            return f"it carries {cert.subject.human_friendly} twice"
        seen.add(identity)
    for cert in carried:
        if cert["signature_algorithm"].dump() != cert["tbs_certificate"]["signature"].dump():
            name = cert.subject.human_friendly
            return f"{name}: its outer signature algorithm is not the one it signed"
    sid = signer["sid"]
    if sid.name == "issuer_and_serial_number":
        issuer, serial = sid.chosen["issuer"].dump(), sid.chosen["serial_number"].native
        named = [c for c in carried if (c.issuer.dump(), c.serial_number) == (issuer, serial)]
    else:
        named = [c for c in carried if c.key_identifier == sid.chosen.native]
    if len(named) != 1:
        return "it does not carry the signer's certificate"
    loaded = {id(c): x509.load_der_x509_certificate(c.dump()) for c in carried}
    anchors = [x509.load_der_x509_certificate(c.dump()) for c in trust or []]
    current, rest = named[0], [c for c in carried if c is not named[0]]
    while True:
        cert = loaded[id(current)]
        if cert.issuer == cert.subject and _signed_by(cert, cert.public_key()):
            break  # a self-signed root
        issuer = next(
            (
                c
                for c in rest
                if loaded[id(c)].subject == cert.issuer
                and _signed_by(cert, loaded[id(c)].public_key())
            ),
            None,
        )
        if issuer is None:
            if any(a.subject == cert.issuer and _signed_by(cert, a.public_key()) for a in anchors):
                break  # issued by a --trust CA
            return f"{current.subject.human_friendly} does not verify under any certificate"
        rest.remove(issuer)
        current = issuer
    if rest:
        return (
            f"it carries {rest[0].subject.human_friendly}, which is not on the signer's path "
            "to its root"
        )
    return None


def _cms_problem(der: bytes, trust: list | None) -> str | None:
    """What is wrong in the parts of the CMS signature that its signature
    does not cover, or None. Each must be exactly what a plain PAdES
    signature holds: strict DER, the versions RFC 5652 prescribes, one
    signer, its digest algorithm and no other, no CRLs or foreign unsigned
    attributes, and the certificates of the signer's path to its root, each
    once (``_certificates_problem``)."""
    info = cms.ContentInfo.load(der, strict=True)
    if not _is_der(der):  # (asn1crypto's dump(force=True) takes minutes on a B-T signature)
        return "not in DER"
    if info["content_type"].native != "signed_data":
        return "not a CMS SignedData"
    signed = info["content"]
    signers = signed["signer_infos"]
    if len(signers) != 1:
        return f"{len(signers)} signers"
    signer = signers[0]
    version = "v3" if signer["sid"].name == "subject_key_identifier" else "v1"
    if signer["version"].native != version or signed["version"].native != version:
        return "its versions are not those RFC 5652 gives it"
    econtent = signed["encap_content_info"]
    if econtent["content_type"].native != "data" or econtent["content"].native is not None:
        return "the signed content is not detached data"
    digest = signer["digest_algorithm"]
    if [a.dump() for a in signed["digest_algorithms"]] != [digest.dump()]:
        return "its digest algorithms differ from the signer's"
    mechanism = signer["signature_algorithm"]
    if not _plain_algorithm(digest) or (
        mechanism["algorithm"].native != "rsassa_pss" and not _plain_algorithm(mechanism)
    ):
        return "unexpected algorithm parameters"
    if signed["crls"].native:
        return "it carries revocation lists"
    if any(
        a["type"] != "signature_time_stamp_token" for a in signer["unsigned_attrs"].native or []
    ):
        return "unexpected unsigned attributes"
    choices = list(signed["certificates"] or [])
    if any(choice.name != "certificate" for choice in choices):
        return "it carries something other than X.509 certificates"
    return _certificates_problem(signer, [choice.chosen for choice in choices], trust)


def _signature(
    report: Report, reader: PdfFileReader, data: bytes, trust: list | None, allow_unsigned: bool
) -> None:
    size = len(data)
    signatures = reader.embedded_signatures
    if not signatures:
        if allow_unsigned:
            report.add("signature", None, "the file is unsigned (accepted by --allow-unsigned)")
        else:
            report.add("signature", False, "the file is unsigned", BAD_SIGNATURE)
        _no_signer(report, trust)
        return
    if len(signatures) != 1:
        report.add(
            "signature", False, f"{len(signatures)} signatures where one is issued", BAD_SIGNATURE
        )
        return
    sig = signatures[0]
    byte_range = list(sig.byte_range)
    covers = (
        len(byte_range) == 4
        and byte_range[0] == 0
        and byte_range[2] + byte_range[3] == size
        and byte_range[1] < byte_range[2]
    )
    der = _contents_der(data[byte_range[1] : byte_range[2]]) if covers else None
    if covers and der is None:
        report.add(
            "signature",
            False,
            "the bytes outside the signed range are not exactly the signature value "
            "(changed hex digits, case or padding)",
            BAD_SIGNATURE,
        )
        return
    context = ValidationContext(trust_roots=trust or [], allow_fetching=False)
    usage = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"})
    try:
        status = validate_pdf_signature(
            sig, signer_validation_context=context, key_usage_settings=usage, skip_diff=True
        )
    except Exception as exc:  # pyHanko raises many kinds on a damaged signature
        report.add("signature", False, f"cannot be validated ({exc})", BAD_SIGNATURE)
        return
    whole = covers and status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    damaged = _cms_problem(der, trust) if der else None
    subfilter = str(sig.sig_object.get("/SubFilter", "?")).lstrip("/")
    if status.intact and status.valid and whole and not damaged:
        when = status.signer_reported_dt
        report.add(
            "signature",
            True,
            f"{subfilter}, {status.md_algorithm.upper()}, intact and valid, covers the whole "
            f"file (all {size} bytes but the signature value)"
            + (f", signing time {when:%Y-%m-%d %H:%M:%S %Z} (claimed)" if when else ""),
        )
    else:
        problems = []
        if not status.intact:
            problems.append("the signed bytes were changed (digest mismatch)")
        if not status.valid:
            problems.append("the signature value does not verify")
        if not whole:
            problems.append(f"it does not cover the whole file (byte range {byte_range})")
        if damaged:
            problems.append(f"its unsigned parts were changed ({damaged})")
        report.add("signature", False, "; ".join(problems), BAD_SIGNATURE)
        return
    subject = status.signing_cert.subject.human_friendly
    issuer = status.signing_cert.issuer.human_friendly
    if trust is None:
        report.unanchored(
            "signer",
            f"{subject} (issued by {issuer}) is unchecked: no trust anchor was given "
            "(--trust CA.pem), and a certificate carried in the file vouches for nothing",
            NEED_TRUST,
        )
    elif status.trusted:
        anchor = status.validation_path[0].subject.human_friendly
        report.add("signer", True, f"{subject}: its certificate chain leads to {anchor}")
    else:
        why = status.trust_problem_indic.name if status.trust_problem_indic else "no path"
        report.add(
            "signer",
            False,
            f"{subject} (issued by {issuer}) is not trusted by --trust ({why})",
            UNTRUSTED,
        )


def _no_signer(report: Report, trust: list | None) -> None:
    """The signer line of a file without a signature."""
    if trust is not None:
        report.add("signer", False, "no signer to check against --trust", UNTRUSTED)
    else:
        report.unanchored(
            "signer",
            "no signature covers the file as a whole: nothing vouches for its case summary "
            "and records; at most its events up to the checkpointed head are authenticated, "
            "by a checkpoint whose key is pinned with --ledger-key",
            NEED_SIGNATURE,
        )


# -- 3: the attachment, the chain, the printed head ---------------------------


def _embedded_files(reader: PdfFileReader) -> list[tuple[str, Any]]:
    """(name, file specification) of every embedded file, walking the
    catalogue's /EmbeddedFiles name tree."""
    found: list[tuple[str, Any]] = []
    try:
        tree = reader.root["/Names"]["/EmbeddedFiles"]
    except KeyError:
        return found
    pending, seen = [tree], 0
    while pending and seen < 10_000:
        node = pending.pop().get_object()
        seen += 1
        names = node.get("/Names", [])
        for i in range(0, len(names) - 1, 2):
            found.append((str(names[i]), names[i + 1].get_object()))
        pending.extend(node.get("/Kids", []))
    return found


def _attachment(report: Report, reader: PdfFileReader) -> bytes | None:
    files = _embedded_files(reader)
    named = [spec for name, spec in files if name == ATTACHMENT]
    if len(named) != 1:
        report.add(
            "attachment",
            False,
            f"{len(named)} files named {ATTACHMENT} (of {len(files)} attached), expected one",
            BROKEN_CHAIN,
        )
        return None
    data = named[0]["/EF"]["/F"].get_object().data
    report.add("attachment", True, f"{ATTACHMENT}, {len(data)} bytes, sha256 {sha256_hex(data)}")
    return data


def _printed_head(reader: PdfFileReader) -> tuple[str, str] | None:
    try:
        subject = str(reader.trailer["/Info"].get_object()["/Subject"])
    except Exception:  # no or a damaged document information dictionary
        return None
    match = SUBJECT_RE.match(subject.strip())
    return (match["reference"], match["head"]) if match else None


def _event_hash(body: dict[str, Any]) -> str:
    return sha256_hex(body["prev_hash"].encode("ascii") + canonical_json(body))


def _chain(report: Report, bundle: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Recompute the chain; the events when it holds."""
    reference = bundle["case"]["reference"]
    events, chain, variant = bundle["events"], bundle["chain"], bundle["variant"]
    if not isinstance(events, list) or not events:
        report.add("chain", False, "the export holds no events", BROKEN_CHAIN)
        return None
    prev, recomputed, withheld, projected = ZERO_HASH, 0, 0, 0
    for number, event in enumerate(events, start=1):
        where = f"event #{number}"
        if not isinstance(event, dict) or not isinstance(event.get("hash"), str):
            return _broken(report, f"{where} is not an event with a hash")
        if event.get("seq") != number:
            return _broken(report, f"{where} carries seq {event.get('seq')!r}: seq has a gap")
        if event.get("prev_hash") != prev:
            return _broken(report, f"{where} does not link to the previous event's hash")
        if not HEX64_RE.match(event["hash"]):
            return _broken(report, f"{where}: its hash is not 64 hex digits")
        if event.get("withheld") is True:
            if set(event) != {"seq", "prev_hash", "hash", "withheld"}:
                return _broken(report, f"{where}: a withheld entry carries more than its hashes")
            withheld += 1
        elif event.get("projected") is True:
            projected += 1
        else:
            if event.get("case") != reference:
                return _broken(report, f"{where} belongs to case {event.get('case')!r}")
            body = {k: v for k, v in event.items() if k != "hash"}
            if _event_hash(body) != event["hash"]:
                return _broken(report, f"{where}: its hash does not match its content")
            recomputed += 1
        prev = event["hash"]
    if variant == "full" and (withheld or projected):
        return _broken(report, "a full export withholds or projects events")
    if chain.get("seq") != len(events) or chain.get("head") != prev:
        return _broken(report, "the events do not end at the stated chain head")
    if variant == "full":
        detail = f"{len(events)} events, every hash recomputed, head {prev}"
    else:
        detail = (
            f"{len(events)} entries linked by prev_hash, {recomputed} hashes recomputed; "
            f"{withheld} withheld and {projected} projected (vendor view: their hashes are "
            f"linked, not recomputed), head {prev}"
        )
    report.add("chain", True, detail)
    return events


def _broken(report: Report, detail: str) -> None:
    report.add("chain", False, detail, BROKEN_CHAIN)
    return None


# -- 4: the checkpoint ---------------------------------------------------


def _checkpoint(
    report: Report, bundle: dict[str, Any], events: list | None, ledger_keys: list[str]
) -> None:
    doc, proof = bundle.get("checkpoint"), bundle.get("inclusion_proof")
    if doc is None:
        report.add("checkpoint", False, "the export carries no ledger checkpoint", BAD_CHECKPOINT)
        return
    body, signature = doc["checkpoint"], doc["signature"]
    public_key = body["public_key"]
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key)).verify(
            bytes.fromhex(signature), canonical_json(body)
        )
        signed = True
    except (InvalidSignature, ValueError):
        signed = False
    if doc.get("format") != "disclosure-ledger-checkpoint":
        report.add("checkpoint", False, "not a Disclosure ledger checkpoint", BAD_CHECKPOINT)
    elif not signed:
        report.add(
            "checkpoint",
            False,
            f"#{body.get('seq')}: the signature does not verify",
            BAD_CHECKPOINT,
        )
    elif sha256_hex(canonical_json({**body, "signature": signature})) != doc.get("hash"):
        report.add(
            "checkpoint", False, f"#{body.get('seq')}: its hash does not match", BAD_CHECKPOINT
        )
    else:
        report.add(
            "checkpoint",
            True,
            f"#{body['seq']} of {body['created_at']}, {body['case_count']} cases, "
            f"its signature by {public_key} verifies, hash {doc['hash']}",
        )
        _ledger_key(report, public_key, ledger_keys)
    reference = bundle["case"]["reference"]
    if proof is None:
        report.add("inclusion proof", False, "the export carries none", BAD_CHECKPOINT)
        return
    entry = proof["entry"]
    path = [bytes.fromhex(p) for p in proof["path"]]
    included = (
        isinstance(entry, list)
        and len(entry) == 3
        and entry[0] == reference
        and proof["tree_size"] == body["case_count"]
        and verify_inclusion(
            proof["leaf_index"],
            proof["tree_size"],
            canonical_json(entry),
            path,
            bytes.fromhex(body["root"]),
        )
    )
    if not included:
        report.add(
            "inclusion proof",
            False,
            f"the entry {entry!r} is not proven under the checkpoint's root",
            BAD_CHECKPOINT,
        )
        return
    _, seq, head = entry
    report.add(
        "inclusion proof",
        True,
        f"[{reference}, {seq}, {head[:16]}...] is leaf {proof['leaf_index']} of "
        f"{proof['tree_size']} under root {body['root'][:16]}... (RFC 9162)",
    )
    if events is None:
        report.add("extends checkpoint", None, "not checked: the chain does not hold")
    elif isinstance(seq, int) and 1 <= seq <= len(events) and events[seq - 1]["hash"] == head:
        later = len(events) - seq
        report.add(
            "extends checkpoint",
            True,
            "the chain's head is the checkpointed head"
            if not later
            else f"the chain extends the checkpointed head (seq {seq}) by {later} events",
        )
    else:
        report.add(
            "extends checkpoint",
            False,
            f"the chain does not hold the checkpointed head (seq {seq})",
            BAD_CHECKPOINT,
        )


def _ledger_key(report: Report, public_key: str, ledger_keys: list[str]) -> None:
    """Which anchor vouches for the key that signed the checkpoint: a
    --ledger-key (pinned), else the trusted PDF signature that covers the
    file; otherwise only the file itself names it."""
    if ledger_keys:
        if public_key.lower() in ledger_keys:
            report.add("ledger key", True, f"{public_key} pinned by --ledger-key")
        else:
            report.add(
                "ledger key",
                False,
                f"the checkpoint is signed by {public_key}, not by --ledger-key",
                BAD_CHECKPOINT,
            )
    elif report.passed("signature") and report.passed("signer"):
        report.add(
            "ledger key",
            True,
            f"{public_key} is vouched for by the trusted PDF signature (not pinned: "
            "--ledger-key HEX checks it independently)",
        )
    else:
        report.unanchored(
            "ledger key",
            f"{public_key} is not anchored: it is only the key the file names, neither pinned "
            "by --ledger-key nor covered by a trusted PDF signature",
            NEED_LEDGER_KEY,
        )


# -- 6: trusted time (RFC 3161 timestamps) ------------------------------------


# Universal string types, which DER encodes primitive only.
_STRING_TAGS = {3, 4, 12, 18, 19, 20, 21, 22, 25, 26, 27, 28, 30}


def _primitive_problem(tag: int, body: bytes) -> str:
    """Why a universal primitive value is not in its one DER form ("" if it is)."""
    if tag == 1 and body not in (b"\x00", b"\xff"):
        return "a BOOLEAN not 00 or FF"
    padded = len(body) > 1 and body[0] in (0, 0xFF) and (body[0] ^ body[1]) < 0x80
    if tag in (2, 10) and (not body or padded):
        return "an INTEGER not in its shortest form"
    if tag == 5 and body:
        return "a NULL with contents"
    if tag in (6, 13):
        starts = [i for i in range(len(body)) if i == 0 or not body[i - 1] & 0x80]
        if not body or body[-1] & 0x80 or any(body[i] == 0x80 for i in starts):
            return "an OBJECT IDENTIFIER not in its shortest form"
    if tag == 3:
        unused = body[0] if body else 8
        if unused > 7 or (unused and (len(body) == 1 or body[-1] & ((1 << unused) - 1))):
            return "a BIT STRING not in DER"
    return ""


def _canonical_der(class_: int, method: int, tag: int, body: bytes) -> bytes:
    """The DER encoding of one parsed element, children first: definite,
    minimal lengths; SET OF sorted; strings primitive; BOOLEAN, INTEGER,
    NULL, OBJECT IDENTIFIER and BIT STRING in their one DER form (ValueError
    when a value has none). Linear in the size, however deep the nesting (a
    timestamp token nests a second CMS inside the signature)."""
    universal = class_ == 0
    if method == 1:
        if universal and tag in _STRING_TAGS:
            raise ValueError("a constructed string")
        children, pointer = [], 0
        while pointer < len(body):
            c, m, t, header, contents, trailer = asn1_parser.parse(body[pointer:])
            children.append(_canonical_der(c, m, t, contents))
            pointer += len(header) + len(contents) + len(trailer)
        if universal and tag == 17:
            children.sort()
        body = b"".join(children)
    elif universal and (problem := _primitive_problem(tag, body)):
        raise ValueError(problem)
    return asn1_parser.emit(class_, method, tag, body)


def _is_der(data: bytes) -> bool:
    """Whether ``data`` is exactly one element in DER."""
    try:
        c, m, t, _, contents, _ = asn1_parser.parse(data, strict=True)
        return _canonical_der(c, m, t, contents) == data
    except ValueError:
        return False


def _token_problem(signed: Any, imprint_for: Any, tsa_trust: list | None) -> tuple[Any, str, str]:
    """Check one timestamp token's SignedData: (TimestampSignatureStatus or
    None, the TSA's name, the problem or ""). ``imprint_for(algorithm)``
    gives the digest the token must be over."""
    tst = signed["encap_content_info"]["content"].parsed
    if not isinstance(tst, tsp.TSTInfo):
        return None, "?", "the token holds no TSTInfo"
    mi = tst["message_imprint"]
    expected = imprint_for(mi["hash_algorithm"]["algorithm"].native)
    if expected is None or mi["hashed_message"].native != expected:
        return None, "?", "the token is over another value (imprint mismatch)"
    # Without --tsa-trust the certificates the token carries stand in for an
    # anchor: its signature, theirs and the time-stamping usage still count.
    anchors = list(tsa_trust or []) or [c.chosen for c in signed["certificates"] or []]
    context = ValidationContext(trust_roots=anchors, allow_fetching=False)
    kwargs = asyncio.run(validate_tst_signed_data(signed, context, imprint_for))
    status = TimestampSignatureStatus(**kwargs)
    name = status.signing_cert.subject.human_friendly if status.signing_cert else "?"
    if not (status.intact and status.valid):
        return status, name, f"the token's signature by {name} does not verify"
    if not status.trusted:
        if tsa_trust:
            return status, name, f"the TSA {name} does not chain to --tsa-trust"
        return status, name, f"the certificate of {name} is not valid for time stamping"
    return status, name, ""


def _time_line(
    report: Report, name: str, signed: Any, imprint_for: Any, tsa_trust: list | None, code: int
) -> None:
    try:
        status, tsa_name, problem = _token_problem(signed, imprint_for, tsa_trust)
    except Exception as exc:  # asn1crypto and pyHanko raise many kinds on a damaged token
        report.add(name, False, f"the timestamp token is damaged ({exc!r})", code)
        return
    if problem:
        untrusted = status is not None and status.intact and status.valid and tsa_trust
        report.add(name, False, problem, UNTRUSTED if untrusted else code)
        return
    when = f"{status.timestamp:%Y-%m-%d %H:%M:%S %Z}"
    if tsa_trust:
        report.add(name, True, f"{when} (RFC 3161, {tsa_name}, chains to --tsa-trust)")
    else:
        report.add(
            name,
            None,
            f"{when} (RFC 3161, {tsa_name}: token valid, TSA not anchored: give "
            "--tsa-trust TSA-CA.pem)",
        )


def _signature_time(report: Report, reader: PdfFileReader, tsa_trust: list | None) -> None:
    """The PDF signature's RFC 3161 timestamp (PAdES B-T), if it has one."""
    try:
        (sig,) = reader.embedded_signatures
        signer = sig.signer_info
        tokens = [
            value
            for attr in signer["unsigned_attrs"] or []
            if attr["type"].native == "signature_time_stamp_token"
            for value in attr["values"]
        ]
    except Exception:  # none, several or a damaged signature: its own line says so
        return
    name = "trusted time (signature)"
    if not tokens:
        return  # PAdES B-B: the "signature" line gives its signing time as claimed
    if len(tokens) != 1:
        report.add(name, False, f"{len(tokens)} timestamps where one is made", BAD_SIGNATURE)
        return
    value = signer["signature"].native

    def imprint_for(algorithm: str) -> bytes | None:
        try:
            return hashlib.new(algorithm, value).digest()
        except (ValueError, TypeError):
            return None

    _time_line(report, name, tokens[0]["content"], imprint_for, tsa_trust, BAD_SIGNATURE)


def _checkpoint_time(report: Report, raw: bytes, tsa_trust: list | None) -> None:
    """The checkpoint's RFC 3161 timestamp (``checkpoint.timestamp_token``)."""
    try:
        doc = loads(raw)["checkpoint"]
        digest, token = doc["hash"], doc.get("timestamp_token")
    except (Refused, ValueError, UnicodeError, KeyError, TypeError):
        return  # the bundle's and the checkpoint's lines say what is wrong
    name = "trusted time (checkpoint)"
    if token is None:
        return  # no token: the checkpoint's time is only claimed
    try:
        signed = cms.ContentInfo.load(base64.b64decode(token, validate=True))["content"]
        imprint = bytes.fromhex(digest)
    except Exception as exc:  # not base64, not DER, not hex
        report.add(name, False, f"the timestamp token is damaged ({exc!r})", BAD_CHECKPOINT)
        return

    def imprint_for(algorithm: str) -> bytes | None:
        return imprint if algorithm == "sha256" else None

    _time_line(report, name, signed, imprint_for, tsa_trust, BAD_CHECKPOINT)


# -- putting it together ------------------------------------------------------


def verify(
    data: bytes,
    *,
    path: str = "<bytes>",
    trust: list | None = None,
    allow_unsigned: bool = False,
    ledger_keys: list[str] | None = None,
    tsa_trust: list | None = None,
) -> Report:
    """Every check on the PDF ``data``; ``trust``: CA certificates the
    signer must chain to (None: not checked); ``tsa_trust``: those the
    time-stamping authority must chain to."""
    report = Report(path)
    if data.lstrip()[:1] == b"{":
        _json_export(report, data, allow_unsigned, trust, ledger_keys)
        _checkpoint_time(report, data[:-1] if data.endswith(b"\n") else data, tsa_trust)
        return report
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        reader.root  # noqa: B018 - reading the catalogue fails on a broken file
    except Exception as exc:  # the reader raises many kinds on a damaged file
        if b"/ByteRange" in data:
            report.add("signature", False, f"the signed file is damaged ({exc})", BAD_SIGNATURE)
        else:
            report.add("file", False, f"not a readable PDF ({exc})", UNREADABLE)
        return report
    try:
        _signature(report, reader, data, trust, allow_unsigned)
    except Exception as exc:  # a damaged signature dictionary or cross-reference
        report.add("signature", False, f"the signed file is damaged ({exc})", BAD_SIGNATURE)
    _signature_time(report, reader, tsa_trust)
    try:
        raw = _attachment(report, reader)
    except Exception as exc:  # a damaged attachment stream or file specification
        report.add("attachment", False, f"cannot be read ({exc})", BROKEN_CHAIN)
        raw = None
    if raw is not None:
        _contents(report, raw, _printed_head(reader), ledger_keys)
        _checkpoint_time(report, raw, tsa_trust)
    return report


def _json_export(
    report: Report, data: bytes, allow_unsigned: bool, trust: list | None, ledger_keys
) -> Report:
    """A JSON export: the bundle alone, unsigned and with no printed head."""
    if allow_unsigned:
        report.add("signature", None, "a JSON export carries none (accepted by --allow-unsigned)")
    else:
        report.add("signature", False, "a JSON export is unsigned", BAD_SIGNATURE)
    _no_signer(report, trust)
    raw = data[:-1] if data.endswith(b"\n") else data
    _contents(report, raw, None, ledger_keys, pdf=False)
    return report


def _contents(
    report: Report, raw: bytes, printed: tuple[str, str] | None, ledger_keys, *, pdf: bool = True
) -> None:
    """The bundle's checks: canonical form, chain, the head ``printed`` in
    the PDF (a JSON export has none), checkpoint."""
    try:
        bundle = loads(raw)
        if canonical_json(bundle) != raw:
            raise Refused("it is not in canonical form")
        if not isinstance(bundle, dict) or bundle.get("format") != "disclosure-export":
            raise Refused("it is not a Disclosure export")
        if bundle.get("v") != 1:
            raise Refused(f"unknown format version {bundle.get('v')!r}")
        if bundle.get("variant") not in ("full", "vendor"):
            raise Refused(f"unknown variant {bundle.get('variant')!r}")
        reference = bundle["case"]["reference"]
        if not isinstance(reference, str) or not isinstance(bundle["chain"], dict):
            raise Refused("it names no case or chain")
    except (Refused, ValueError, UnicodeError, KeyError, TypeError) as exc:
        report.add("bundle", False, f"{ATTACHMENT} is not valid: {exc!r}", BROKEN_CHAIN)
        return
    report.add(
        "bundle",
        True,
        f"canonical JSON, {bundle['variant']} variant of case {reference}, "
        f"generated {bundle.get('generated_at')}",
    )
    try:
        events = _chain(report, bundle)
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        events = _broken(report, f"malformed events ({exc!r})")
    stated = (reference, bundle["chain"].get("head"))
    if not pdf:
        report.add("printed head", None, "a JSON export prints none")
    elif printed is None:
        report.add("printed head", False, "the document states no chain head", BROKEN_CHAIN)
    elif printed != stated:
        report.add(
            "printed head",
            False,
            f"the document prints {printed[0]} head {printed[1]}, the attachment "
            f"{stated[0]} head {stated[1]}",
            BROKEN_CHAIN,
        )
    else:
        report.add("printed head", True, "the document's subject states the same case and head")
    try:
        _checkpoint(report, bundle, events, [k.lower() for k in ledger_keys or []])
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        report.add("checkpoint", False, f"malformed checkpoint or proof ({exc!r})", BAD_CHECKPOINT)


def load_trust(path: str) -> list:
    """The CA certificates (PEM or DER) in ``path``."""
    certs = list(load_certs_from_pemder_data(Path(path).read_bytes()))
    if not certs:
        raise ValueError("no certificate in it")
    return certs


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="verify_export",
        description="Verify a Disclosure case export: signature, chain, printed head, checkpoint.",
        epilog="Exit status: 0 verified, 1 unreadable/usage, 2 signature, 3 chain, "
        "4 untrusted signer, 5 checkpoint, 6 intact but not authenticated (a trust anchor is "
        "missing: --trust for the PDF signer, --ledger-key for the checkpoint).",
    )
    p.add_argument("file", help="the exported PDF (or JSON export)")
    p.add_argument("--trust", metavar="CA.pem", help="the signer must chain to this CA")
    p.add_argument(
        "--allow-unsigned", action="store_true", help="accept an export that has no signature"
    )
    p.add_argument(
        "--ledger-key",
        action="append",
        metavar="HEX",
        default=[],
        help="the checkpoint must be signed by this Ed25519 public key (repeatable; "
        "manage.py ledger_public_key prints the deployment's)",
    )
    p.add_argument(
        "--tsa-trust",
        metavar="CA.pem",
        help="the time-stamping authority of the RFC 3161 timestamps must chain to this CA "
        "(their times are then trusted)",
    )
    return p


def run(
    file: str,
    *,
    trust: str | None = None,
    allow_unsigned: bool = False,
    ledger_keys: list[str] | None = None,
    out=None,
    tsa_trust: str | None = None,
) -> int:
    """Verify ``file``, print the report to ``out``, return the exit status."""
    out = out or sys.stdout
    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).addHandler(logging.NullHandler())
        logging.getLogger(name).propagate = False
    try:
        data = Path(file).read_bytes()
    except OSError as exc:
        out.write(f"verify_export: cannot read {file}: {exc.strerror}\n")
        return UNREADABLE
    try:
        anchors = load_trust(trust) if trust else None
    except (OSError, ValueError) as exc:
        out.write(f"verify_export: cannot read the trust anchor {trust}: {exc}\n")
        return UNREADABLE
    try:
        tsa_anchors = load_trust(tsa_trust) if tsa_trust else None
    except (OSError, ValueError) as exc:
        out.write(f"verify_export: cannot read the TSA trust anchor {tsa_trust}: {exc}\n")
        return UNREADABLE
    report = verify(
        data,
        path=file,
        trust=anchors,
        allow_unsigned=allow_unsigned,
        ledger_keys=ledger_keys,
        tsa_trust=tsa_anchors,
    )
    out.write(report.render())
    return report.exit_code


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, a usage error 2
        return OK if exc.code == 0 else UNREADABLE
    return run(
        args.file,
        trust=args.trust,
        allow_unsigned=args.allow_unsigned,
        ledger_keys=args.ledger_key,
        tsa_trust=args.tsa_trust,
    )


if __name__ == "__main__":
    sys.exit(main())
