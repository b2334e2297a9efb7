"""The verifier (disclosure/exports/verifier.py = scripts/verify_export.py) on
real signed PDFs: what holds, and every way a forgery or a damaged file fails,
with the exit status the export contract gives it."""

import copy
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
        "inclusion proof": True,
        "extends checkpoint": True,
    }
    text = report.render()
    assert "ETSI.CAdES.detached" in text
    assert "Research Firm development export CA" in text
    assert f"{len(bundle['events'])} events, every hash recomputed, head {bundle['chain']['head']}"
    assert text.endswith("Result: VERIFIED (exit 0: all checks hold)\n")


def test_without_trust_the_signer_is_reported_unchecked(export):
    report = verifier.verify(export[0])
    assert report.exit_code == 0
    assert codes(report)["signer"] is None
    assert "give --trust CA.pem" in report.render()


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


def test_a_checkpoint_signed_with_another_key_fails_against_ledger_key(export):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    _, bundle = export
    ledger_key = public_hex(signing_key())
    assert verifier.verify(export[0], ledger_keys=[ledger_key.upper()]).exit_code == 0
    forged = copy.deepcopy(bundle)
    _resign_checkpoint(forged, Ed25519PrivateKey.generate())
    pdf = signing.sign_pdf(support.render(forged))
    assert verifier.verify(pdf).exit_code == 0  # self-consistent, so only a pinned key tells
    report = verifier.verify(pdf, ledger_keys=[ledger_key])
    assert report.exit_code == 5
    assert "not by --ledger-key" in report.render()


def test_unsigned_is_exit_2_unless_allowed(export, settings):
    _, bundle = export
    pdf = support.render(bundle)
    report = verifier.verify(pdf)
    assert report.exit_code == 2
    assert "the file is unsigned" in report.render()
    assert verifier.verify(pdf, allow_unsigned=True).exit_code == 0
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


def test_a_vendor_export_links_withheld_and_projected_entries(export, settings):
    _, bundle = export
    vendor = support.vendor_bundle(bundle, withhold={2}, project={3})
    pdf = signing.sign_pdf(support.render(vendor))
    report = verifier.verify(pdf)
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
    assert report.exit_code == 0, report.render()
    assert codes(report) == {
        "signature": None,
        "bundle": True,
        "chain": True,
        "printed head": None,
        "checkpoint": True,
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
