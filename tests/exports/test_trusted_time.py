"""Trusted time in exports: with DISCLOSURE_TSA_URL, a PDF export is signed
PAdES B-T and its bundle's checkpoint carries its RFC 3161 token; the
standalone verifier checks both tokens and prints the trusted times. The TSA
is real: OpenSSL's ``ts -reply`` on 127.0.0.1 (tests/tsa.py). A TSA that is
down never holds up an export: it is signed B-B, and a warning says so."""

import base64
import io
import json
import logging

import pytest
from asn1crypto import cms

from disclosure.exports import services, verifier
from disclosure.exports.models import ExportStatus
from disclosure.ledger.timestamps import stamp_missing
from tests.exports.rich_case import *  # noqa: F403
from tests.exports.signing_fixtures import *  # noqa: F403
from tests.exports.support_signing import use_certificates
from tests.factories import make_case
from tests.tsa import free_port_url, make_tsa_material

# The test TSA's name, as pyHanko prints a certificate's subject.
TSA_NAME = "Common Name: Test Time-Stamping Authority, Organization: Test TSA"


@pytest.fixture
def case(lead, vendor):
    return make_case("vendor_notified", actor=lead, vendor=vendor)


@pytest.fixture
def signing(settings, firm_certs):
    use_certificates(settings, firm_certs)
    return firm_certs


def exported(user, case, tmp_path, format="pdf"):
    """Request an export as ``user`` (rendered at once: Celery is eager and
    the test's transactions commit), and write it to a file."""
    export = services.request_export(actor=user, case=case, format=format)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    _, data = services.record_download(actor=user, export=export)
    path = tmp_path / f"export.{format}"
    path.write_bytes(data)
    return export, path


def verify(path, *args: str) -> tuple[int, str]:
    """The standalone verifier's exit status and report, as its command line runs it."""
    options = verifier.parser().parse_args([str(path), *args])
    out = io.StringIO()
    code = verifier.run(
        options.file,
        trust=options.trust,
        allow_unsigned=options.allow_unsigned,
        ledger_keys=options.ledger_key,
        tsa_trust=options.tsa_trust,
        out=out,
    )
    return code, out.getvalue()


def line(output: str, name: str) -> str:
    found = [row for row in output.splitlines() if f"] {name}:" in row]
    assert len(found) == 1, output
    return found[0].strip()


def signature_token(pdf: bytes) -> cms.ContentInfo:
    from pyhanko.pdf_utils.reader import PdfFileReader

    signer = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures[0].signer_info
    (attr,) = [
        a for a in signer["unsigned_attrs"] if a["type"].native == "signature_time_stamp_token"
    ]
    return attr["values"][0]


def gen_time(token: cms.ContentInfo) -> bytes:
    return token["content"]["encap_content_info"]["content"].parsed["gen_time"].contents


def backdated(time: bytes) -> bytes:
    """The same GeneralizedTime ten years earlier (same length)."""
    return str(int(time[:4]) - 10).encode() + time[4:]


@pytest.mark.django_db(transaction=True)
def test_a_pdf_export_is_signed_b_t_and_both_trusted_times_verify(
    legal, case, signing, tsa, export_storage, tmp_path
):
    export, path = exported(legal, case, tmp_path)
    assert export.signed
    pdf = path.read_bytes()
    token = signature_token(pdf)
    assert token["content"]["encap_content_info"]["content_type"].native == "tst_info"
    code, out = verify(path, "--trust", str(signing.ca_cert), "--tsa-trust", str(tsa.ca_cert))
    assert code == 0, out
    sig_line = line(out, "trusted time (signature)")
    assert sig_line.startswith("[ ok ] trusted time (signature): 20")
    assert sig_line.endswith(f"UTC (RFC 3161, {TSA_NAME}, chains to --tsa-trust)")
    cp_line = line(out, "trusted time (checkpoint)")
    assert cp_line.startswith("[ ok ] trusted time (checkpoint): 20")
    assert cp_line.endswith(f"UTC (RFC 3161, {TSA_NAME}, chains to --tsa-trust)")
    assert "Result: VERIFIED (exit 0" in out
    # The same file without --tsa-trust: the times are shown, not anchored,
    # and the verdict does not depend on them.
    code, out = verify(path, "--trust", str(signing.ca_cert))
    assert code == 0, out
    assert line(out, "trusted time (signature)").startswith("[ -- ] trusted time (signature): 20")
    assert f"{TSA_NAME}: token valid, TSA not anchored: give --tsa-trust TSA-CA.pem)" in (
        line(out, "trusted time (checkpoint)")
    )


@pytest.mark.django_db(transaction=True)
def test_a_tampered_signature_timestamp_is_rejected(
    legal, case, signing, tsa, export_storage, tmp_path
):
    _, path = exported(legal, case, tmp_path)
    pdf = path.read_bytes()
    stamped = gen_time(signature_token(pdf)).hex().upper().encode()
    if stamped not in pdf:
        stamped = stamped.lower()
    assert pdf.count(stamped) == 1
    forged = backdated(bytes.fromhex(stamped.decode())).hex().encode()
    forged = forged.upper() if stamped.isupper() else forged
    path.write_bytes(pdf.replace(stamped, forged))
    code, out = verify(path, "--trust", str(signing.ca_cert), "--tsa-trust", str(tsa.ca_cert))
    assert code == 2, out
    assert "Result: NOT VERIFIED (exit 2: bad or missing signature)" in out
    # The PAdES signature itself holds (the token is an unsigned attribute):
    # the token's own check is what refuses the changed time.
    assert line(out, "signature").startswith("[ ok ] signature: ")
    assert line(out, "trusted time (signature)") == (
        f"[FAIL] trusted time (signature): the token's signature by {TSA_NAME} does not verify"
    )


@pytest.mark.django_db(transaction=True)
def test_a_tampered_or_foreign_checkpoint_token_is_rejected(
    legal, case, tsa, export_storage, tmp_path
):
    _, path = exported(legal, case, tmp_path, format="json")
    bundle = json.loads(path.read_bytes())
    original = bundle["checkpoint"]["timestamp_token"]
    token = base64.b64decode(original)
    stamped = gen_time(cms.ContentInfo.load(token))
    tampered = base64.b64encode(token.replace(stamped, backdated(stamped), 1)).decode()
    raw = path.read_bytes()
    assert raw.count(original.encode()) == 1
    path.write_bytes(raw.replace(original.encode(), tampered.encode()))
    code, out = verify(path, "--allow-unsigned", "--tsa-trust", str(tsa.ca_cert))
    assert code == 5, out
    assert line(out, "trusted time (checkpoint)") == (
        f"[FAIL] trusted time (checkpoint): the token's signature by {TSA_NAME} does not verify"
    )
    # A genuine token, but over another value.
    foreign = base64.b64encode(_token_over(tsa, b"\x01" * 32)).decode()
    path.write_bytes(raw.replace(original.encode(), foreign.encode()))
    code, out = verify(path, "--allow-unsigned", "--tsa-trust", str(tsa.ca_cert))
    assert code == 5, out
    assert line(out, "trusted time (checkpoint)") == (
        "[FAIL] trusted time (checkpoint): the token is over another value (imprint mismatch)"
    )
    # The untouched file: the checkpoint's time is trusted.
    path.write_bytes(raw)
    code, out = verify(path, "--allow-unsigned", "--tsa-trust", str(tsa.ca_cert))
    assert line(out, "trusted time (checkpoint)").startswith("[ ok ] trusted time (checkpoint): ")


def _token_over(tsa, digest: bytes) -> bytes:
    from django.test import override_settings

    from disclosure.core import tsa as core_tsa

    with override_settings(DISCLOSURE_TSA_URL=tsa.url):
        return core_tsa.request_token(digest)


@pytest.mark.django_db(transaction=True)
def test_a_tsa_outside_tsa_trust_is_an_untrusted_signer(
    legal, case, signing, tsa, export_storage, tmp_path
):
    _, path = exported(legal, case, tmp_path)
    make_tsa_material(tmp_path / "other-tsa")
    other = tmp_path / "other-tsa" / "ca-cert.pem"
    code, out = verify(path, "--trust", str(signing.ca_cert), "--tsa-trust", str(other))
    assert code == 4, out
    assert line(out, "trusted time (signature)") == (
        f"[FAIL] trusted time (signature): the TSA {TSA_NAME} does not chain to --tsa-trust"
    )


@pytest.mark.django_db(transaction=True)
def test_a_tsa_that_is_down_never_holds_up_an_export(
    legal, case, signing, tsa, settings, caplog, export_storage, tmp_path
):
    settings.DISCLOSURE_TSA_URL = free_port_url()
    with caplog.at_level(logging.WARNING):
        export, path = exported(legal, case, tmp_path)
    assert export.status == ExportStatus.DONE and export.signed  # signed B-B
    assert "export signed PAdES B-B without a trusted time: the TSA" in caplog.text
    assert "has no RFC 3161 timestamp yet" in caplog.text  # the checkpoint waits
    code, out = verify(path, "--trust", str(signing.ca_cert), "--tsa-trust", str(tsa.ca_cert))
    assert code == 0, out  # a B-B export verifies; it only has no trusted time
    assert "trusted time" not in out  # neither the signature nor the checkpoint has one
    assert "(claimed)" in line(out, "signature")
    # The TSA is back: beat stamps the waiting checkpoint, later exports carry it.
    settings.DISCLOSURE_TSA_URL = tsa.url
    assert stamp_missing().missing == 0
    (tmp_path / "again").mkdir()
    _, path = exported(legal, case, tmp_path / "again")
    code, out = verify(path, "--trust", str(signing.ca_cert), "--tsa-trust", str(tsa.ca_cert))
    assert code == 0, out
    assert line(out, "trusted time (signature)").startswith("[ ok ] ")
    assert line(out, "trusted time (checkpoint)").startswith("[ ok ] ")
