#!/usr/bin/env python3
"""An independent verifier of Disclosure exports, written from
docs/export-format.md ("Disclosure export format 1") alone.

    python verifier_from_doc.py FILE [--ca CA.pem] [--ledger-key HEX ...]
                                [--tsa-ca TSA-CA.pem] [--allow-unsigned]

It imports the standard library, pyHanko (and what pyHanko itself brings:
asn1crypto, cryptography, pyhanko_certvalidator) and pypdf, nothing of the
Disclosure project, and does not share code with its verifier: the test
suite runs it in an interpreter whose path holds only those packages, to
show that the document is enough to check an export. Section numbers (§)
refer to the document.

Prints one line per step (§12) and a verdict: VERIFIED (exit 0), INTACT, NOT
AUTHENTICATED naming the missing anchors (exit 6), or BROKEN (exit 1 to 5,
the document's statuses).
"""

import argparse
import asyncio
import base64
import hashlib
import io
import json
import re
import sys

from asn1crypto import cms, tsp
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import SignatureCoverageLevel, TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

UNREADABLE, SIGNATURE, CHAIN, UNTRUSTED, CHECKPOINT, NOT_AUTHENTICATED = 1, 2, 3, 4, 5, 6
ORDER = (UNREADABLE, SIGNATURE, UNTRUSTED, CHAIN, CHECKPOINT)  # §12: the first failing one
ZEROS = "0" * 64
HEX64 = re.compile(r"[0-9a-f]{64}")
ATTACHMENT = "disclosure-export.json"
EVENT_KEYS = {"v", "case", "seq", "kind", "occurred_at", "recorded_at", "actor", "payload",
              "internal", "state", "prev_hash", "hash"}  # fmt: skip
WITHHELD_KEYS = {"seq", "prev_hash", "hash", "withheld"}
PROJECTED_KEYS = {"seq", "kind", "occurred_at", "recorded_at", "actor", "payload", "prev_hash",
                  "hash", "projected"}  # fmt: skip
# §6, "Fingerprinted fields", in the document's order.
FINGERPRINTED = {
    "communication": ("id", "case_id", "direction", "channel", "sender", "recipients", "subject",
                      "body", "body_sha256", "occurred_at", "logged_by_id", "logged_at",
                      "attachments"),
    "evidence": ("id", "case_id", "sha256", "size", "content_type", "original_name", "kind",
                 "description", "uploaded_by_id", "uploaded_at", "captured_at", "internal"),
    "attestation": ("id", "case_id", "items", "total_bytes", "method", "tool", "performed_by_id",
                    "performed_at", "verified_by_id", "verification", "retained_metadata",
                    "retention_reason", "content_sha256", "countersigned_by_id",
                    "countersigned_at", "countersignature_statement", "created_at", "evidence"),
    "dispute": ("id", "case_id", "subject", "firm_position", "firm_provenance", "vendor_position",
                "vendor_provenance", "filed_by_id", "filed_at", "status"),
    "escalation": ("id", "case_id", "target", "organization", "their_reference", "reason",
                   "escalated_at", "escalated_by_id"),
}  # fmt: skip
RECORD_LISTS = {
    "communication": "communications",
    "evidence": "evidence",
    "attestation": "attestation",
    "dispute": "disputes",
    "escalation": "escalations",
}


class Failed(Exception):
    def __init__(self, status: int, why: str):
        super().__init__(why)
        self.status = status


class Result:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.failed: list[int] = []
        self.missing: list[str] = []

    def ok(self, step: str, detail: str) -> None:
        self.lines.append(f"ok    {step}: {detail}")

    def fail(self, step: str, status: int, detail: str) -> None:
        self.lines.append(f"FAIL  {step}: {detail}")
        self.failed.append(status)

    def unanchored(self, step: str, anchor: str, detail: str) -> None:
        self.lines.append(f"--    {step}: {detail} (missing anchor: {anchor})")
        self.missing.append(anchor)

    def verdict(self) -> tuple[int, str]:
        for status in ORDER:
            if status in self.failed:
                return status, f"BROKEN (exit {status})"
        if self.missing:
            return NOT_AUTHENTICATED, "INTACT, NOT AUTHENTICATED (missing: " + "; ".join(
                self.missing
            ) + ")"
        return 0, "VERIFIED"


# -- §2 canonical JSON ----------------------------------------------------------


def _refuse(text):
    raise ValueError(f"not canonical: number {text}")


def _pairs(pairs):
    if len({k for k, _ in pairs}) != len(pairs):
        raise ValueError("not canonical: a repeated key")
    return dict(pairs)


def parse(data: bytes):
    return json.loads(data.decode("utf-8"), parse_float=_refuse, parse_constant=_refuse,
                      object_pairs_hook=_pairs)  # fmt: skip


def canonical(value) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)  # fmt: skip
    parse(text.encode("utf-8"))  # refuses a float anywhere
    return text.encode("utf-8")


def sha256hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- §8 RFC 9162 ----------------------------------------------------------------


def _leaf(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def proof_holds(index: int, size: int, leaf: bytes, path: list[bytes], root: bytes) -> bool:
    if not (isinstance(index, int) and isinstance(size, int) and 0 <= index < size):
        return False
    fn, sn, r = index, size - 1, _leaf(leaf)
    for p in path:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


# -- §9 RFC 3161 tokens ---------------------------------------------------------


def check_token(signed_data, expected: bytes, tsa_ca: list | None) -> str:
    """The token's genTime when it is good; raises Failed otherwise."""
    tst = signed_data["encap_content_info"]["content"].parsed
    if not isinstance(tst, tsp.TSTInfo):
        raise Failed(0, "the token holds no TSTInfo")
    imprint = tst["message_imprint"]
    algorithm = imprint["hash_algorithm"]["algorithm"].native
    if imprint["hashed_message"].native != expected(algorithm):
        raise Failed(0, "the token is over another value")
    carried = [c.chosen for c in signed_data["certificates"] or []]
    roots = tsa_ca or carried
    status = TimestampSignatureStatus(
        **asyncio.run(
            validate_tst_signed_data(
                signed_data, ValidationContext(trust_roots=roots, allow_fetching=False), expected
            )
        )
    )
    if not (status.intact and status.valid):
        raise Failed(0, "the token's signature does not verify")
    usage = status.signing_cert.extended_key_usage_value
    if usage is None or "time_stamping" not in usage.native:
        raise Failed(0, "the TSA certificate is not for time stamping")
    if not status.trusted:
        raise Failed(UNTRUSTED if tsa_ca else 0, "the TSA does not chain to the TSA CA")
    anchored = "TSA anchored" if tsa_ca else "TSA not anchored"
    return f"{status.timestamp:%Y-%m-%d %H:%M:%S} UTC ({anchored})"


def _time_step(result: Result, step: str, status: int, run) -> None:
    try:
        result.ok(step, run())
    except Failed as exc:
        result.fail(step, exc.status or status, str(exc))
    except Exception as exc:  # a damaged token
        result.fail(step, status, f"damaged token ({type(exc).__name__}: {exc})")


# -- §10 the PDF signature ------------------------------------------------------


def _der_value(gap: bytes) -> bytes:
    """The DER signature in /Contents: `<`, hex in one case, zero padding, `>`."""
    m = re.fullmatch(rb"<([0-9a-f]*|[0-9A-F]*)>", gap)
    if m is None or len(m.group(1)) % 2:
        raise Failed(SIGNATURE, "the /Contents gap is not exactly <hex>")
    raw = bytes.fromhex(m.group(1).decode())
    if len(raw) < 2 or raw[0] != 0x30:
        raise Failed(SIGNATURE, "/Contents is not a DER SEQUENCE")
    if raw[1] < 0x80:
        length = 2 + raw[1]
    else:
        n = raw[1] & 0x7F
        length = 2 + n + int.from_bytes(raw[2 : 2 + n], "big")
    if length > len(raw) or any(raw[length:]):
        raise Failed(SIGNATURE, "/Contents has more than the signature and zero padding")
    return raw[:length]


def _certificates_once(signed_data, signer_cert) -> None:
    """§10 "Certificates, once": the signer's path to a self-signed root, each once."""
    carried = [c.chosen for c in signed_data["certificates"] or []]
    ids = [(c.issuer.dump(), c.serial_number) for c in carried]
    if len(set(ids)) != len(ids):
        raise Failed(SIGNATURE, "a certificate is carried twice")
    path, current = [], signer_cert
    while True:
        path.append((current.issuer.dump(), current.serial_number))
        if current.subject == current.issuer:  # a self-signed root
            break
        issuers = [c for c in carried if c.subject == current.issuer]
        if len(issuers) != 1:
            raise Failed(SIGNATURE, "the signer's path to its root is not in the signature")
        current = issuers[0]
        if len(path) > len(carried):
            raise Failed(SIGNATURE, "the certificate path loops")
    if set(ids) != set(path):
        raise Failed(SIGNATURE, "a certificate off the signer's path is carried")


def signature_step(result: Result, data: bytes, ca: list | None, tsa_ca) -> bool:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    signatures = reader.embedded_signatures
    if len(signatures) != 1:
        raise Failed(SIGNATURE, f"{len(signatures)} signatures where exactly one is issued")
    sig = signatures[0]
    if str(sig.sig_object.get("/SubFilter")) != "/ETSI.CAdES.detached":
        raise Failed(SIGNATURE, "not a PAdES (ETSI.CAdES.detached) signature")
    if len(sig.byte_range) != 4:
        raise Failed(SIGNATURE, f"the byte range {list(sig.byte_range)} is not [0 a b c]")
    a, b, c, d = sig.byte_range
    if a != 0 or c + d != len(data) or not b < c:
        raise Failed(SIGNATURE, f"the byte range {list(sig.byte_range)} is not the whole file")
    _der_value(data[b:c])
    signer_info = sig.signer_info
    signed_data = sig.signed_data
    if len(signed_data["signer_infos"]) != 1 or signed_data["crls"].native:
        raise Failed(SIGNATURE, "not one signer, or revocation lists carried")
    unsigned = signer_info["unsigned_attrs"].native or []
    if any(attr["type"] != "signature_time_stamp_token" for attr in unsigned):
        raise Failed(SIGNATURE, "an unsigned attribute other than a signature timestamp")
    status = validate_pdf_signature(
        sig,
        signer_validation_context=ValidationContext(trust_roots=ca or [], allow_fetching=False),
        skip_diff=True,
    )
    if not (status.intact and status.valid):
        raise Failed(SIGNATURE, "the signature does not verify over its byte range")
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        raise Failed(SIGNATURE, "the signature does not cover the entire file")
    _certificates_once(signed_data, status.signing_cert)
    subject = status.signing_cert.subject.human_friendly
    result.ok("signature", f"PAdES, one signature over the whole file, by {subject}")
    if ca is None:
        result.unanchored("signer", "the CA for the PDF signer", f"{subject} is unchecked")
        trusted = False
    elif status.trusted:
        result.ok("signer", f"{subject} chains to the given CA")
        trusted = True
    else:
        result.fail("signer", UNTRUSTED, f"{subject} does not chain to the given CA")
        trusted = False
    tokens = [
        value
        for attr in signer_info["unsigned_attrs"] or []
        if attr["type"].native == "signature_time_stamp_token"
        for value in attr["values"]
    ]
    if len(tokens) > 1:
        result.fail("signature time", SIGNATURE, "more than one signature timestamp")
    elif tokens:
        value = signer_info["signature"].native
        _time_step(
            result,
            "signature time",
            SIGNATURE,
            lambda: check_token(
                tokens[0]["content"], lambda alg: hashlib.new(alg, value).digest(), tsa_ca
            ),
        )
    return trusted


def attachment_and_head(data: bytes) -> tuple[bytes, str | None]:
    reader = PdfReader(io.BytesIO(data))
    files = reader.attachments
    contents = files.get(ATTACHMENT, [])
    if len(contents) != 1:
        raise Failed(CHAIN, f"{len(contents)} attachments named {ATTACHMENT}, expected one")
    subject = reader.metadata.subject if reader.metadata else None
    return contents[0], subject


# -- §4, §5 the chain; §6 records ------------------------------------------------


def chain_step(bundle) -> list[dict]:
    reference, events, variant = bundle["case"]["reference"], bundle["events"], bundle["variant"]
    prev, counts = ZEROS, {"complete": 0, "withheld": 0, "projected": 0}
    for n, e in enumerate(events, start=1):
        if not isinstance(e, dict) or e.get("seq") != n or e.get("prev_hash") != prev:
            raise Failed(CHAIN, f"entry {n} is not seq {n} linked to the previous hash")
        if not (isinstance(e.get("hash"), str) and HEX64.fullmatch(e["hash"])):
            raise Failed(CHAIN, f"entry {n}: its hash is not 64 hex digits")
        if variant == "vendor" and e.get("withheld") is True:
            if set(e) != WITHHELD_KEYS:
                raise Failed(CHAIN, f"entry {n}: a withheld entry must have exactly 4 keys")
            counts["withheld"] += 1
        elif variant == "vendor" and e.get("projected") is True:
            if set(e) != PROJECTED_KEYS:
                raise Failed(CHAIN, f"entry {n}: a projected entry must have exactly 9 keys")
            counts["projected"] += 1
        else:
            if set(e) != EVENT_KEYS or e["v"] != 1 or e["case"] != reference:
                raise Failed(CHAIN, f"entry {n} is not a complete event of {reference}")
            if variant == "vendor" and e["internal"] is not False:
                raise Failed(CHAIN, f"entry {n}: an internal event in a vendor export")
            body = {k: v for k, v in e.items() if k != "hash"}
            if sha256hex(prev.encode("ascii") + canonical(body)) != e["hash"]:
                raise Failed(CHAIN, f"event {n}: its hash does not recompute")
            counts["complete"] += 1
        prev = e["hash"]
    chain = bundle["chain"]
    if chain["seq"] != len(events) or chain["head"] != (prev if events else None):
        raise Failed(CHAIN, "the entries do not end at chain.seq / chain.head")
    return counts


def records_step(bundle) -> int:
    """§6: in the full variant, every record's fingerprint recomputes and is
    the one the last event vouching for it recorded; both ways complete."""
    vouched = {}
    for e in bundle["events"]:
        ref = e["payload"].get("record") if isinstance(e.get("payload"), dict) else None
        if ref is not None:
            vouched[(ref["type"], ref["id"])] = ref["fingerprint"]
    seen, checked = set(), 0
    excerpt = bundle["communications"] == "excerpt"
    for rtype, key in RECORD_LISTS.items():
        rows = bundle["records"][key]
        rows = [] if rows is None else rows if isinstance(rows, list) else [rows]
        for row in rows:
            fields = {"type": rtype, **{f: row[f] for f in FINGERPRINTED[rtype]}}
            computed = sha256hex(canonical(fields))
            cut = excerpt and rtype == "communication" and row.get("body_excerpt") is True
            if not cut and computed != row["fingerprint"]:
                raise Failed(CHAIN, f"{rtype} {row['id']}: its fingerprint does not recompute")
            if vouched.get((rtype, row["id"])) != row["fingerprint"]:
                raise Failed(CHAIN, f"{rtype} {row['id']} is not what the ledger recorded last")
            seen.add((rtype, row["id"]))
            checked += 1
    if set(vouched) - seen:
        raise Failed(
            CHAIN, f"records the events vouch for are missing: {sorted(set(vouched) - seen)}"
        )
    return checked


# -- §7, §8 the checkpoint; §11 the ledger key --------------------------------------


def checkpoint_step(result: Result, bundle, ledger_keys: list[str], pdf_trusted: bool, tsa_ca):
    doc, proof = bundle["checkpoint"], bundle["inclusion_proof"]
    if doc is None or proof is None:
        raise Failed(CHECKPOINT, "the export carries no checkpoint or inclusion proof")
    body = doc["checkpoint"]
    if doc["format"] != "disclosure-ledger-checkpoint" or body["v"] != 1:
        raise Failed(CHECKPOINT, "an unknown checkpoint format")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(body["public_key"])).verify(
            bytes.fromhex(doc["signature"]), canonical(body)
        )
    except (InvalidSignature, ValueError) as exc:
        raise Failed(CHECKPOINT, "the checkpoint's Ed25519 signature does not verify") from exc
    if sha256hex(canonical({**body, "signature": doc["signature"]})) != doc["hash"]:
        raise Failed(CHECKPOINT, "the checkpoint's hash does not recompute")
    entry = proof["entry"]
    if not (
        isinstance(entry, list)
        and len(entry) == 3
        and entry[0] == bundle["case"]["reference"]
        and proof["tree_size"] == body["case_count"]
        and proof_holds(
            proof["leaf_index"],
            proof["tree_size"],
            canonical(entry),
            [bytes.fromhex(p) for p in proof["path"]],
            bytes.fromhex(body["root"]),
        )
    ):
        raise Failed(CHECKPOINT, "the case's entry is not proven under the checkpoint's root")
    _, seq, head = entry
    events = bundle["events"]
    if not (isinstance(seq, int) and 1 <= seq <= len(events) and events[seq - 1]["hash"] == head):
        raise Failed(CHECKPOINT, "the chain does not hold the checkpointed head")
    result.ok(
        "checkpoint",
        f"#{body['seq']} signed by {body['public_key']}, hash recomputed, entry "
        f"[{entry[0]}, {seq}] is leaf {proof['leaf_index']} of {proof['tree_size']}",
    )
    if "timestamp_token" in doc:
        imprint = bytes.fromhex(doc["hash"])

        def token():
            signed = cms.ContentInfo.load(base64.b64decode(doc["timestamp_token"], validate=True))
            return check_token(
                signed["content"], lambda alg: imprint if alg == "sha256" else b"", tsa_ca
            )

        _time_step(result, "checkpoint time", CHECKPOINT, token)
    key = body["public_key"].lower()
    if ledger_keys:
        if key in ledger_keys:
            result.ok("ledger key", f"{key} is pinned")
        else:
            result.fail("ledger key", CHECKPOINT, f"{key} is not one of the given ledger keys")
    elif pdf_trusted:
        result.ok("ledger key", f"{key} is covered by the trusted PDF signature")
    else:
        result.unanchored(
            "ledger key",
            "a ledger key for the checkpoint's key",
            f"{key} is only named by the file",
        )


# -- putting it together (§12) --------------------------------------------------


def verify(data: bytes, ca, ledger_keys, tsa_ca, allow_unsigned) -> Result:
    result = Result()
    pdf_trusted = False
    printed = None
    if data.lstrip()[:1] == b"{":
        raw = data[:-1] if data.endswith(b"\n") else data
        if ca is not None:
            result.fail("signer", UNTRUSTED, "a JSON export has no signer to check against the CA")
        if not allow_unsigned:
            result.fail("signature", SIGNATURE, "a JSON export carries no signature")
        result.unanchored("signature", "a signature over the whole file", "a JSON export")
    else:
        try:
            PdfReader(io.BytesIO(data))
        except Exception as exc:
            result.fail("file", UNREADABLE, f"not a readable PDF ({exc})")
            return result
        try:
            pdf_trusted = signature_step(result, data, ca, tsa_ca)
        except Failed as exc:
            unsigned = not PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
            if unsigned and allow_unsigned:
                result.unanchored("signature", "a signature over the whole file", "unsigned PDF")
                if ca is not None:
                    result.fail("signer", UNTRUSTED, "no signer to check against the CA")
            else:
                result.fail("signature", exc.status, str(exc))
        except Exception as exc:
            result.fail("signature", SIGNATURE, f"damaged signature ({type(exc).__name__}: {exc})")
        try:
            raw, printed = attachment_and_head(data)
        except Failed as exc:
            result.fail("attachment", exc.status, str(exc))
            return result
        except Exception as exc:
            result.fail("attachment", CHAIN, f"cannot be read ({exc})")
            return result
    try:
        bundle = parse(raw)
        if canonical(bundle) != raw:
            raise ValueError("the bytes are not canonical JSON")
        if bundle["format"] != "disclosure-export" or bundle["v"] != 1:
            raise ValueError("not Disclosure export format 1")
        if bundle["variant"] not in ("full", "vendor"):
            raise ValueError(f"unknown variant {bundle['variant']!r}")
    except (ValueError, KeyError, TypeError, UnicodeError) as exc:
        result.fail("bundle", CHAIN, str(exc))
        return result
    result.ok("bundle", f"canonical, format 1, {bundle['variant']} variant")
    try:
        counts = chain_step(bundle)
        result.ok("chain", f"{len(bundle['events'])} entries to {bundle['chain']['head']} {counts}")
    except Failed as exc:
        result.fail("chain", exc.status, str(exc))
    except (KeyError, TypeError, AttributeError) as exc:
        result.fail("chain", CHAIN, f"malformed events ({exc!r})")
    if printed is not None or data.lstrip()[:1] != b"{":
        stated = (
            f"Disclosure case {bundle['case']['reference']} chain head {bundle['chain']['head']}"
        )
        if printed == stated:
            result.ok("printed head", stated)
        else:
            result.fail("printed head", CHAIN, f"/Subject {printed!r} is not {stated!r}")
    if bundle["variant"] == "full":
        try:
            result.ok("records", f"{records_step(bundle)} fingerprints recomputed and vouched")
        except Failed as exc:
            result.fail("records", exc.status, str(exc))
        except (KeyError, TypeError) as exc:
            result.fail("records", CHAIN, f"malformed records ({exc!r})")
    try:
        checkpoint_step(result, bundle, ledger_keys, pdf_trusted, tsa_ca)
    except Failed as exc:
        result.fail("checkpoint", exc.status, str(exc))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        result.fail("checkpoint", CHECKPOINT, f"malformed checkpoint ({exc!r})")
    return result


def _certs(path: str | None) -> list | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        certs = list(load_certs_from_pemder_data(f.read()))
    if not certs:
        raise ValueError(f"{path} holds no certificate")
    return certs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--ca")
    p.add_argument("--ledger-key", action="append", default=[])
    p.add_argument("--tsa-ca")
    p.add_argument("--allow-unsigned", action="store_true")
    args = p.parse_args(argv)
    try:
        with open(args.file, "rb") as f:
            data = f.read()
        ca, tsa_ca = _certs(args.ca), _certs(args.tsa_ca)
    except (OSError, ValueError) as exc:
        print(f"cannot read: {exc}")
        return UNREADABLE
    keys = [k.strip().lower() for k in args.ledger_key]
    result = verify(data, ca, keys, tsa_ca, args.allow_unsigned)
    code, verdict = result.verdict()
    print("\n".join(result.lines))
    print(f"VERDICT: {verdict}")
    return code


if __name__ == "__main__":
    sys.exit(main())
