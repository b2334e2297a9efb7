"""The verifier (disclosure/exports/verifier.py = scripts/verify_export.py) on
real signed PDFs: what holds, and every way a forgery or a damaged file fails,
with the exit status the export contract gives it."""

import copy
import hashlib
import io
import json

import pytest
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers

from disclosure.core.canonical import canonical_json as core_canonical
from disclosure.exports import signing, verifier
from disclosure.ledger import merkle
from disclosure.ledger.chain import compute_hash
from disclosure.ledger.signing import public_hex, signing_key
from tests.exports import support_signing as support
from tests.exports.signing_fixtures import *  # noqa: F403
from tests.exports.support_signing import attacker_signs


def codes(report):
    return {c.name: c.ok for c in report.checks}


def test_a_good_signed_export_verifies(export, trust):
    pdf, bundle = export
    report = verifier.verify(pdf, trust=trust)
    assert report.exit_code == 0, report.render()
    assert codes(report) == {
        "signature": True,
        "signer": True,
        "attachment": True,
        "bundle": True,
        "chain": True,
        "printed head": True,
        "checkpoint": True,
        "ledger key": True,
        "inclusion proof": True,
        "extends checkpoint": True,
    }
    text = report.render()
    assert "ETSI.CAdES.detached" in text
    assert "Research Firm development export CA" in text
    assert f"{len(bundle['events'])} events, every hash recomputed, head {bundle['chain']['head']}"
    assert text.endswith("Result: VERIFIED (exit 0: all checks hold)\n")


def _offsets(pdf: bytes) -> dict[str, int]:
    """Named places in a signed export to damage."""
    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    _, first, second, _ = sig.byte_range
    embedded = pdf.index(b"/EmbeddedFile")
    stream = pdf.index(b"stream", embedded) + 20
    return {
        "header": 3,
        "page content": first // 3,
        "attachment stream": stream,
        "document info": pdf.index(b"/Subject") + 12,
        "signature dictionary": pdf.index(b"/ByteRange") - 30,
        "byte range": pdf.index(b"/ByteRange") + 14,
        "signature value (DER)": first + 200,
        "signature padding": second - 10,
        "signature closing bracket": second - 1,
        "xref stream dictionary": pdf.rindex(b"/Prev") + 6,
        "trailer /ID": pdf.rindex(b"/ID [") + 8,
        "xref stream data": pdf.rindex(b"endstream") - 10,
        "startxref": pdf.rindex(b"startxref") + 11,
        "end of file": len(pdf) - 2,
    }


@pytest.mark.parametrize("mask", [0xFF, 0x01, 0x20])
def test_flipping_any_single_byte_fails_the_signature(export, trust, mask):
    pdf, _ = export
    places = _offsets(pdf)
    # a spread over the whole file besides the named places
    places |= {f"byte {i}": i for i in range(0, len(pdf), max(1, len(pdf) // 300))}
    results = {}
    for name, offset in places.items():
        report = verifier.verify(support.flip(pdf, offset, mask), trust=trust)
        results[name] = report.exit_code
    assert {name: code for name, code in results.items() if code != 2} == {}


def test_a_changed_event_re_signed_by_an_attacker(export, trust, settings, mallory_certs):
    _, bundle = export
    forged = copy.deepcopy(bundle)
    forged["events"][0]["payload"]["title"] = "Nothing exposed"
    tampered = attacker_signs(settings, mallory_certs, forged)
    with_trust = verifier.verify(tampered, trust=trust)
    assert with_trust.exit_code == 4
    assert "Mallory" in with_trust.render()
    without = verifier.verify(tampered)
    assert without.exit_code == 3
    assert "event #1: its hash does not match its content" in without.render()


def test_a_rewritten_chain_does_not_extend_the_checkpoint(export, trust, settings, mallory_certs):
    """Hashes recomputed after the change, head and printed head updated: the
    chain holds, but not the checkpointed head."""
    _, bundle = export
    forged = copy.deepcopy(bundle)
    forged["events"][1]["payload"]["note"] = "rewritten"
    prev = forged["events"][0]["hash"]
    for event in forged["events"][1:]:
        event["prev_hash"] = prev
        event["hash"] = prev = compute_hash({k: v for k, v in event.items() if k != "hash"})
    forged["chain"]["head"] = prev
    tampered = attacker_signs(settings, mallory_certs, forged)
    report = verifier.verify(tampered)
    assert report.exit_code == 5, report.render()
    assert codes(report)["chain"] is True
    assert codes(report)["extends checkpoint"] is False
    assert verifier.verify(tampered, trust=trust).exit_code == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b["events"].pop(),  # cut from the end
        lambda b: b["events"].pop(1),  # cut from the middle
        lambda b: b["events"][2].update(seq=7),
        lambda b: b["events"][2].update(prev_hash="0" * 64),
        lambda b: b["chain"].update(head="f" * 64),
        lambda b: b["events"][0].update(case="DSC-1999-0001"),
        lambda b: b["events"].clear(),
    ],
    ids=["truncated", "gap", "seq", "link", "head", "other case", "empty"],
)
def test_a_broken_chain_is_exit_3(export, settings, firm_certs, damage):
    _, bundle = export
    forged = copy.deepcopy(bundle)
    damage(forged)
    pdf = signing.sign_pdf(support.render(forged, printed_head=bundle["chain"]["head"]))
    report = verifier.verify(pdf)
    assert report.exit_code == 3, report.render()
    assert codes(report)["chain"] is False


def test_a_wrong_printed_head_is_exit_3(export):
    _, bundle = export
    pdf = signing.sign_pdf(support.render(bundle, printed_head="e" * 64))
    report = verifier.verify(pdf)
    assert report.exit_code == 3
    assert codes(report) | {"printed head": None} == codes(verifier.verify(export[0])) | {
        "printed head": None
    }
    assert f"prints {bundle['case']['reference']} head {'e' * 64}" in report.render()


@pytest.mark.parametrize(
    "raw",
    [
        b'{"format": "disclosure-export"}',
        b"[1.5]",
        b"not json",
        b'{"a":"\\ud800"}',
    ],
    ids=["not canonical", "float", "garbage", "lone surrogate"],
)
def test_an_attachment_that_is_not_a_canonical_bundle_is_exit_3(export, raw):
    _, bundle = export
    report = verifier.verify(signing.sign_pdf(support.render(bundle, raw=raw)))
    assert report.exit_code == 3
    assert codes(report)["bundle"] is False


def test_a_missing_attachment_is_exit_3(export):
    pdf = signing.sign_pdf(HTML_without_attachment(export[1]))
    report = verifier.verify(pdf)
    assert report.exit_code == 3
    assert "0 files named disclosure-export.json" in report.render()


def HTML_without_attachment(bundle) -> bytes:
    from weasyprint import HTML

    head = bundle["chain"]["head"]
    ref = bundle["case"]["reference"]
    return HTML(
        string=f"<meta name=description content='Disclosure case {ref} chain head {head}'>x"
    ).write_pdf(pdf_variant="pdf/a-3b")


def _other_hex(text: str) -> str:
    """``text`` with its first hex digit changed."""
    return ("1" if text[0] == "0" else "0") + text[1:]


def _resign_checkpoint(bundle, key) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    assert isinstance(key, Ed25519PrivateKey)
    doc = bundle["checkpoint"]
    doc["checkpoint"]["public_key"] = public_hex(key)
    doc["signature"] = key.sign(core_canonical(doc["checkpoint"])).hex()
    doc["hash"] = verifier.sha256_hex(
        core_canonical({**doc["checkpoint"], "signature": doc["signature"]})
    )


@pytest.mark.parametrize(
    "forge",
    [
        lambda b: b["checkpoint"].update(signature=_other_hex(b["checkpoint"]["signature"])),
        lambda b: b["checkpoint"]["checkpoint"].update(case_count=99),
        lambda b: b["checkpoint"].update(hash="0" * 64),
        lambda b: b["inclusion_proof"]["path"].__setitem__(0, "ab" * 32),
        lambda b: b["inclusion_proof"].update(leaf_index=b["inclusion_proof"]["leaf_index"] ^ 1),
        lambda b: b["inclusion_proof"]["entry"].__setitem__(1, 3),
        lambda b: b["inclusion_proof"]["entry"].__setitem__(0, "DSC-1999-0001"),
        lambda b: b.update(checkpoint=None),
        lambda b: b.update(inclusion_proof=None),
    ],
    ids=[
        "signature",
        "signed body",
        "hash",
        "proof path",
        "leaf index",
        "entry seq",
        "entry reference",
        "no checkpoint",
        "no proof",
    ],
)
def test_a_forged_checkpoint_or_proof_is_exit_5(export, forge):
    _, bundle = export
    forged = copy.deepcopy(bundle)
    forge(forged)
    report = verifier.verify(signing.sign_pdf(support.render(forged)))
    assert report.exit_code == 5, report.render()


def test_a_checkpoint_signed_with_another_key_fails_against_ledger_key(export, trust):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _, bundle = export
    ledger_key = public_hex(signing_key())
    assert verifier.verify(export[0], trust=trust, ledger_keys=[ledger_key.upper()]).exit_code == 0
    forged = copy.deepcopy(bundle)
    other = Ed25519PrivateKey.generate()
    _resign_checkpoint(forged, other)
    pdf = signing.sign_pdf(support.render(forged))
    assert verifier.verify(pdf).exit_code == 6  # self-consistent, anchored by nothing
    # the firm's trusted signature covers the key (the documented decision) ...
    assert verifier.verify(pdf, trust=trust).exit_code == 0
    # ... and a pinned key is checked whatever the signature says
    report = verifier.verify(pdf, trust=trust, ledger_keys=[ledger_key])
    assert report.exit_code == 5
    assert f"the checkpoint is signed by {public_hex(other)}, not by --ledger-key" in (
        report.render()
    )


def test_unsigned_is_exit_2_unless_allowed(export, settings):
    _, bundle = export
    pdf = support.render(bundle)
    report = verifier.verify(pdf)
    assert report.exit_code == 2
    assert "the file is unsigned" in report.render()
    allowed = verifier.verify(pdf, allow_unsigned=True, ledger_keys=[public_hex(signing_key())])
    assert allowed.exit_code == 6, allowed.render()
    assert allowed.missing_anchors == [verifier.NEED_SIGNATURE]
    assert verifier.verify(pdf, trust=[], allow_unsigned=True).exit_code == 4


def _sign_again(pdf: bytes) -> bytes:
    identity = signing.signing_identity()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    meta = signers.PdfSignatureMetadata(
        field_name="Second", subfilter=fields.SigSeedSubFilter.PADES
    )
    return signers.sign_pdf(writer, meta, signer=identity.signer).getvalue()


def test_a_second_signature_or_a_later_update_is_exit_2(export, trust):
    pdf, _ = export
    twice = verifier.verify(_sign_again(pdf), trust=trust)
    assert twice.exit_code == 2
    assert "2 signatures where one is issued" in twice.render()
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    subject = generic.pdf_string("Disclosure case DSC-2026-0002 chain head " + "e" * 64)
    writer.set_info(generic.DictionaryObject({generic.pdf_name("/Subject"): subject}))
    out = io.BytesIO()
    writer.write(out)
    report = verifier.verify(out.getvalue(), trust=trust)
    assert report.exit_code == 2
    assert "does not cover the whole file" in report.render()


def test_a_vendor_export_links_withheld_and_projected_entries(export, settings, trust):
    _, bundle = export
    vendor = support.vendor_bundle(bundle, withhold={2}, project={3})
    pdf = signing.sign_pdf(support.render(vendor))
    report = verifier.verify(pdf, trust=trust)
    assert report.exit_code == 0, report.render()
    n = len(vendor["events"])
    assert f"{n} entries linked by prev_hash, {n - 2} hashes recomputed; 1 withheld and 1 projected"
    broken = copy.deepcopy(vendor)
    broken["events"][1]["hash"] = "1" * 64
    assert verifier.verify(signing.sign_pdf(support.render(broken))).exit_code == 3
    leaky = copy.deepcopy(vendor)
    leaky["events"][1]["kind"] = "note_added"
    assert verifier.verify(signing.sign_pdf(support.render(leaky))).exit_code == 3
    mixed = {**copy.deepcopy(vendor), "variant": "full"}
    assert verifier.verify(signing.sign_pdf(support.render(mixed))).exit_code == 3


def test_a_json_export_is_checked_like_the_attachment(export, settings):
    _, bundle = export
    data = core_canonical(bundle) + b"\n"
    assert verifier.verify(data).exit_code == 2
    report = verifier.verify(data, allow_unsigned=True)
    assert report.exit_code == 6, report.render()
    assert codes(report) == {
        "signature": None,
        "signer": False,
        "bundle": True,
        "chain": True,
        "printed head": None,
        "checkpoint": True,
        "ledger key": False,
        "inclusion proof": True,
        "extends checkpoint": True,
    }
    forged = copy.deepcopy(bundle)
    forged["events"][3]["occurred_at"] = "2020-01-01T00:00:00.000000Z"
    assert verifier.verify(core_canonical(forged), allow_unsigned=True).exit_code == 3
    assert verifier.verify(b'{"format": 1}', allow_unsigned=True).exit_code == 3


def test_unreadable_input_and_usage_errors_are_exit_1(tmp_path, capsys, firm_certs):
    missing = tmp_path / "missing.pdf"
    assert verifier.main([str(missing)]) == 1
    text = tmp_path / "text.pdf"
    text.write_bytes(b"hello, not a PDF")
    assert verifier.main([str(text)]) == 1
    assert verifier.main([]) == 1
    assert verifier.main(["--nonsense", str(text)]) == 1
    assert verifier.main([str(text), "--trust", str(missing)]) == 1
    assert verifier.main([str(text), "--trust", str(text)]) == 1
    assert "not a readable PDF" in capsys.readouterr().out


VALUES = [
    {"b": 1, "a": [True, False, None], "c": {"z": "", "y": -0}},
    {"name": "Zoë Ørsted — 東京 😀", "ctl": '\u0000\u001f\t\n"\\', "sep": "\u2028\u2029"},
    {"big": 2**70, "neg": -(2**63), "nested": [[[[]]], {}]},
    ["\ud7ff", "\ue000", "\uffff", "</script>"],
]


@pytest.mark.parametrize("value", VALUES)
def test_canonical_json_matches_the_ledgers_byte_for_byte(value):
    assert verifier.canonical_json(value) == core_canonical(value)
    assert verifier.loads(core_canonical(value)) == value


@pytest.mark.parametrize("value", [1.5, {"a": [0.0]}, {"x": 1e16}, float("nan")])
def test_canonical_json_refuses_floats_like_the_ledger(value):
    with pytest.raises(ValueError):
        core_canonical(value)
    with pytest.raises(ValueError):
        verifier.canonical_json(value)


def test_inclusion_proofs_agree_with_the_ledgers_merkle_code():
    for size in range(1, 18):
        data = [json.dumps([f"DSC-{i}", i, "a" * 64]).encode() for i in range(size)]
        root = merkle.merkle_root(data)
        for index in range(size):
            proof = merkle.inclusion_proof(index, data)
            assert verifier.verify_inclusion(index, size, data[index], proof, root)
            assert merkle.verify_inclusion(index, size, data[index], proof, root)
            other = (index + 1) % size
            if other != index:
                assert not verifier.verify_inclusion(other, size, data[index], proof, root)
            if proof:
                bad = [bytes(32), *proof[1:]]
                assert not verifier.verify_inclusion(index, size, data[index], bad, root)
        assert not verifier.verify_inclusion(size, size, data[0], [], root)
        assert not verifier.verify_inclusion(-1, size, data[0], [], root)


# -- trust anchors (issue 15, finding 1) -------------------------------------


def _forge_with_fresh_ledger_key(bundle):
    """The issue's forgery: an event edited, the chain recomputed, and a
    one-case checkpoint over the new head signed with a fresh Ed25519 key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = copy.deepcopy(bundle)
    forged["events"][1]["payload"]["note"] = "Nothing was ever exposed"
    prev = forged["events"][0]["hash"]
    for event in forged["events"][1:]:
        event["prev_hash"] = prev
        event["hash"] = prev = compute_hash({k: v for k, v in event.items() if k != "hash"})
    forged["chain"]["head"] = prev
    reference, seq = forged["case"]["reference"], len(forged["events"])
    entry = [reference, seq, prev]
    key = Ed25519PrivateKey.generate()
    body = {
        "v": 1,
        "seq": 1,
        "created_at": forged["generated_at"],
        "case_count": 1,
        "event_count": seq,
        "root": hashlib.sha256(b"\x00" + core_canonical(entry)).hexdigest(),
        "prev_hash": "0" * 64,
        "public_key": public_hex(key),
    }
    signature = key.sign(core_canonical(body)).hex()
    forged["checkpoint"] = {
        "format": "disclosure-ledger-checkpoint",
        "checkpoint": body,
        "signature": signature,
        "hash": hashlib.sha256(core_canonical({**body, "signature": signature})).hexdigest(),
    }
    forged["inclusion_proof"] = {"leaf_index": 0, "tree_size": 1, "entry": entry, "path": []}
    return forged, public_hex(key)


def test_a_forged_json_export_with_a_fresh_checkpoint_key_is_not_verified(export, tmp_path):
    """Issue 15, finding 1: without --ledger-key the forger's checkpoint was
    VERIFIED (exit 0) and its key called "the ledger key"."""
    _, bundle = export
    forged, forger_key = _forge_with_fresh_ledger_key(bundle)
    path = tmp_path / "forged.json"
    path.write_bytes(core_canonical(forged) + b"\n")
    out = io.StringIO()
    assert verifier.run(str(path), allow_unsigned=True, out=out) == 6
    text = out.getvalue()
    assert "VERIFIED (exit 0" not in text
    assert "the ledger key" not in text
    assert f"[FAIL] ledger key: {forger_key} is not anchored" in text
    assert text.endswith(
        "Result: INTACT, NOT AUTHENTICATED (exit 6: missing anchors: a signature over the "
        "whole file (a signed PDF export checked with --trust CA.pem); --ledger-key HEX for "
        "the checkpoint's key)\n"
    )
    pinned = verifier.verify(path.read_bytes(), allow_unsigned=True, ledger_keys=[ledger_hex()])
    assert pinned.exit_code == 5
    assert f"signed by {forger_key}, not by --ledger-key" in pinned.render()


def ledger_hex() -> str:
    return public_hex(signing_key())


def test_a_genuine_json_export_is_at_best_intact_with_its_events_authenticated(export):
    """No signature covers a JSON export as a whole, so it is never VERIFIED;
    a pinned ledger key authenticates its events up to the checkpointed head."""
    _, bundle = export
    data = core_canonical(bundle) + b"\n"
    report = verifier.verify(data, allow_unsigned=True, ledger_keys=[ledger_hex()])
    assert report.exit_code == 6, report.render()
    assert codes(report)["ledger key"] is True
    text = report.render()
    assert f"{ledger_hex()} pinned by --ledger-key" in text
    assert text.endswith(
        "Result: INTACT, NOT AUTHENTICATED (exit 6: missing anchor: a signature over the "
        "whole file (a signed PDF export checked with --trust CA.pem))\n"
    )


def test_a_forged_checkpoint_in_a_pdf_signed_by_an_attacker(export, trust, settings, mallory_certs):
    _, bundle = export
    forged, _ = _forge_with_fresh_ledger_key(bundle)
    pdf = attacker_signs(settings, mallory_certs, forged)
    assert verifier.verify(pdf).exit_code == 6
    assert verifier.verify(pdf, trust=trust).exit_code == 4
    assert verifier.verify(pdf, ledger_keys=[ledger_hex()]).exit_code == 5


def test_a_signed_pdf_without_trust_is_intact_but_not_authenticated(export):
    """Issue 15, finding 1: a signed PDF checked without --trust exited 0
    with its signer unchecked."""
    report = verifier.verify(export[0], ledger_keys=[ledger_hex()])
    assert report.exit_code == 6, report.render()
    assert codes(report)["signer"] is False
    assert report.render().endswith(
        "Result: INTACT, NOT AUTHENTICATED (exit 6: missing anchor: --trust CA.pem for the "
        "PDF signer)\n"
    )
    neither = verifier.verify(export[0]).render()
    assert neither.endswith(
        "Result: INTACT, NOT AUTHENTICATED (exit 6: missing anchors: --trust CA.pem for the "
        "PDF signer; --ledger-key HEX for the checkpoint's key)\n"
    )


def test_a_trusted_pdf_signature_covers_the_checkpoint_key_and_a_pin_is_checked(export, trust):
    pdf, _ = export
    covered = verifier.verify(pdf, trust=trust)
    assert covered.exit_code == 0, covered.render()
    assert (
        f"{ledger_hex()} is vouched for by the trusted PDF signature (not pinned: "
        "--ledger-key HEX checks it independently)"
    ) in covered.render()
    pinned = verifier.verify(pdf, trust=trust, ledger_keys=[ledger_hex()])
    assert pinned.exit_code == 0
    assert f"{ledger_hex()} pinned by --ledger-key" in pinned.render()
    assert verifier.verify(pdf, trust=trust, ledger_keys=["ab" * 32]).exit_code == 5


# -- the certificates a signature carries (issue 15, finding 3) --------------


def _rewrite_cms(pdf: bytes, change) -> bytes:
    """``pdf`` with its signature's CMS rewritten by ``change`` (given the
    ContentInfo) and put back, zero-padded, into the unsigned gap."""
    from asn1crypto import cms

    sig = PdfFileReader(io.BytesIO(pdf)).embedded_signatures[0]
    _, first, second, _ = sig.byte_range
    gap = pdf[first:second]
    der = bytes.fromhex(gap[1:-1].decode()).rstrip(b"\x00")
    info = cms.ContentInfo.load(der)
    change(info)
    new = info.dump(force=True).hex().upper().encode()
    assert len(new) <= len(gap) - 2
    return pdf[:first] + b"<" + new.ljust(len(gap) - 2, b"0") + b">" + pdf[second:]


def _certificates(info):
    return list(info["content"]["certificates"])


def _set_certificates(info, certs) -> None:
    from asn1crypto import cms

    info["content"]["certificates"] = cms.CertificateSet(certs)


def _signer_twice(info) -> None:
    certs = _certificates(info)
    signer = next(c for c in certs if c.chosen.ca is False)
    _set_certificates(info, [*certs, signer.copy()])


def _changed_second_copy(info) -> None:
    """A second copy of the signer's certificate whose outer signature
    algorithm (outside the signed TBS) lost its NULL parameters."""
    from asn1crypto import algos, cms, x509

    certs = _certificates(info)
    signer = next(c for c in certs if c.chosen.ca is False).chosen
    copy_ = x509.Certificate.load(signer.dump())
    # SEQUENCE { sha256WithRSAEncryption } instead of { ..., NULL }
    copy_["signature_algorithm"] = algos.SignedDigestAlgorithm.load(
        bytes.fromhex("300b06092a864886f70d01010b")
    )
    assert copy_.dump(force=True) != signer.dump()
    _set_certificates(info, [*certs, cms.CertificateChoices(name="certificate", value=copy_)])


def _ca_twice(info) -> None:
    certs = _certificates(info)
    ca = next(c for c in certs if c.chosen.ca)
    _set_certificates(info, [*certs, ca.copy()])


def _unrelated(mallory_certs):
    def change(info) -> None:
        from asn1crypto import cms
        from pyhanko.keys import load_cert_from_pemder

        other = load_cert_from_pemder(str(mallory_certs.ca_cert))
        _set_certificates(
            info, [*_certificates(info), cms.CertificateChoices(name="certificate", value=other)]
        )

    return change


@pytest.mark.parametrize("case", ["signer twice", "changed second copy", "CA twice", "unrelated"])
def test_a_signature_carrying_a_duplicate_or_unrelated_certificate_is_exit_2(
    export, trust, mallory_certs, case
):
    """Issue 15, finding 3: the signer's certificate travelled twice, and one
    copy could change while pyHanko still found the signature intact and
    trusted."""
    change = {
        "signer twice": _signer_twice,
        "changed second copy": _changed_second_copy,
        "CA twice": _ca_twice,
        "unrelated": _unrelated(mallory_certs),
    }[case]
    pdf, _ = export
    tampered = _rewrite_cms(_single_copies(pdf), change)
    report = verifier.verify(tampered, trust=trust)
    assert report.exit_code == 2, report.render()
    expected = {
        "signer twice": "carries Common Name: Research Firm export signing (development), "
        "Organization: Research Firm twice",
        "changed second copy": "carries Common Name: Research Firm export signing "
        "(development), Organization: Research Firm twice",
        "CA twice": "carries Common Name: Research Firm development export CA, "
        "Organization: Research Firm twice",
        "unrelated": "carries Common Name: Mallory development export CA, Organization: "
        "Mallory, which is not on the signer's path to its root",
    }[case]
    assert expected in report.render()


def _single_copies(pdf: bytes) -> bytes:
    """``pdf`` with its signature's certificates each carried once (as the
    fixed signing code writes them; an export signed before the fix carried
    the signer's twice)."""

    def dedupe(info) -> None:
        seen, certs = set(), []
        for choice in _certificates(info):
            if choice.dump() not in seen:
                seen.add(choice.dump())
                certs.append(choice)
        _set_certificates(info, certs)

    return _rewrite_cms(pdf, dedupe)


def test_a_signature_carrying_each_certificate_once_verifies(export, trust):
    pdf, _ = export
    report = verifier.verify(_single_copies(pdf), trust=trust)
    assert report.exit_code == 0, report.render()


def test_a_signature_without_its_root_needs_the_root_from_trust(export, trust):
    """A signer's certificate whose CA does not travel with it is accepted
    only when --trust gives that CA; without it nothing vouches for it."""

    def drop_ca(info) -> None:
        _set_certificates(info, [c for c in _certificates(info) if not c.chosen.ca])

    pdf = _rewrite_cms(_single_copies(export[0]), drop_ca)
    assert verifier.verify(pdf, trust=trust).exit_code == 0
    report = verifier.verify(pdf)
    assert report.exit_code == 2
    assert (
        "Common Name: Research Firm export signing (development), Organization: Research Firm "
        "does not verify under any certificate"
    ) in report.render()
