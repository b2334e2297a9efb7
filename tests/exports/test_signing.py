"""Export signing (disclosure/exports/signing.py) on real PDFs: PAdES B-B over
the whole file, reproducible, configured through the settings."""

import io
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.core.exceptions import ImproperlyConfigured
from pypdf import PdfReader

from disclosure.exports import services, signing, verifier
from disclosure.exports.models import ExportStatus
from disclosure.ledger.signing import public_hex, signing_key
from tests.exports import support_signing as support
from tests.exports.rich_case import *  # noqa: F403
from tests.factories import make_case

OLD = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def old_certs(tmp_path_factory):
    """Issued in 2020: older than any export made by the tests."""
    return signing.make_development_certificates(
        tmp_path_factory.mktemp("old"), organization="Research Firm", days=3650, now=OLD
    )


@pytest.fixture
def bundle(db, analyst, vendor):
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    return support.full_bundle(case, generated_at=datetime(2026, 3, 4, 5, 6, 7, 890, UTC))


@pytest.fixture
def unsigned(bundle):
    return support.render(bundle)


@pytest.fixture
def configured(settings, old_certs):
    support.use_certificates(settings, old_certs)
    return old_certs


def test_signing_is_configured_by_a_key_and_a_certificate(settings, old_certs):
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = ""
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = ""
    assert signing.signing_configured() is False
    with pytest.raises(ImproperlyConfigured):
        signing.signing_identity()
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(old_certs.signing_key)
    with pytest.raises(ImproperlyConfigured, match="must be set together"):
        signing.signing_configured()
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = ""
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = str(old_certs.signing_cert)
    with pytest.raises(ImproperlyConfigured, match="must be set together"):
        signing.signing_configured()
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(old_certs.signing_key)
    assert signing.signing_configured() is True


def test_a_signed_export_is_pades_over_the_whole_file(configured, unsigned, bundle):
    signed = signing.sign_pdf(unsigned)
    assert signed.startswith(unsigned)  # an incremental update: the rendering is untouched
    reader = PdfReader(io.BytesIO(signed))
    fields = reader.get_fields()
    value = fields[signing.FIELD_NAME]["/V"]
    assert value["/Filter"] == "/Adobe.PPKLite"
    assert value["/SubFilter"] == "/ETSI.CAdES.detached"
    start, first, second, rest = value["/ByteRange"]
    assert (start, second + rest) == (0, len(signed))
    assert signed[first : first + 1] == b"<" and signed[second - 1 : second] == b">"
    # the document reads as before: same pages, same attachment
    assert len(reader.pages) == len(PdfReader(io.BytesIO(unsigned)).pages)
    assert reader.attachments[support.ATTACHMENT] == [
        PdfReader(io.BytesIO(unsigned)).attachments[support.ATTACHMENT][0]
    ]
    report = verifier.verify(signed, trust=verifier.load_trust(str(configured.ca_cert)))
    assert report.exit_code == 0, report.render()


def test_signing_is_reproducible_and_timed_by_the_document(configured, unsigned):
    first, second = signing.sign_pdf(unsigned), signing.sign_pdf(unsigned)
    assert first == second  # RSA PKCS #1 v1.5, fixed time, trailer /ID from the bytes
    value = PdfReader(io.BytesIO(first)).get_fields()[signing.FIELD_NAME]["/V"]
    assert value["/M"] == "D:20260304050607Z"  # the bundle's generated_at, to the second
    assert value["/Reason"] == signing.REASON
    reader = PdfReader(io.BytesIO(first))  # not "now": the update's dates are the signing time
    assert reader.metadata["/ModDate"] == "D:20260304050607Z"
    assert reader.xmp_metadata.xmp_modify_date == datetime(2026, 3, 4, 5, 6, 7)
    # PDF/A: the document information still equals the XMP metadata
    assert reader.metadata["/Producer"] == reader.xmp_metadata.pdf_producer
    assert reader.metadata["/CreationDate"] == "D:20260304050607Z"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    other = signing.sign_pdf(unsigned, signing_time=datetime(2026, 5, 1, tzinfo=UTC))
    assert other != first
    assert PdfReader(io.BytesIO(other)).get_fields()[signing.FIELD_NAME]["/V"]["/M"] == (
        "D:20260501000000Z"
    )
    assert verifier.verify(other, trust=verifier.load_trust(str(configured.ca_cert))).exit_code == 0


def test_a_document_older_than_the_certificate_is_signed_at_its_start(
    db, settings, tmp_path, analyst, vendor
):
    new = signing.make_development_certificates(tmp_path, organization="Research Firm")
    support.use_certificates(settings, new)
    case = make_case("found", actor=analyst, vendor=vendor)
    pdf = support.render(support.full_bundle(case, generated_at=OLD))
    value = PdfReader(io.BytesIO(signing.sign_pdf(pdf))).get_fields()[signing.FIELD_NAME]["/V"]
    assert value["/M"] == signing.signing_identity().not_before.strftime("D:%Y%m%d%H%M%SZ")


def test_pem_text_a_passphrase_and_a_chain_in_the_certificate_file(
    settings, old_certs, unsigned, tmp_path
):
    key = serialization.load_pem_private_key(old_certs.signing_key.read_bytes(), None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse"),
    ).decode()
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = encrypted
    settings.DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE = "correct horse"
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = (
        old_certs.signing_cert.read_text() + old_certs.ca_cert.read_text()
    )
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = ""
    signed = signing.sign_pdf(unsigned)
    trust = verifier.load_trust(str(old_certs.ca_cert))
    assert verifier.verify(signed, trust=trust).exit_code == 0
    settings.DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE = "wrong"
    with pytest.raises(ImproperlyConfigured, match="not a usable private key"):
        signing.sign_pdf(unsigned)


def test_bad_configuration_is_refused_before_signing(settings, old_certs, tmp_path, unsigned):
    other = signing.make_development_certificates(tmp_path / "other", organization="Other")
    support.use_certificates(settings, old_certs)
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(other.signing_key)
    with pytest.raises(ImproperlyConfigured, match="does not match"):
        signing.sign_pdf(unsigned)
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(tmp_path / "missing.pem")
    with pytest.raises(ImproperlyConfigured, match="cannot read"):
        signing.sign_pdf(unsigned)
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(old_certs.signing_key)
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = str(old_certs.signing_key)
    with pytest.raises(ImproperlyConfigured, match="holds no certificate"):
        signing.sign_pdf(unsigned)
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = str(old_certs.signing_cert)
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = ""  # the root must travel with the signature
    with pytest.raises(ImproperlyConfigured, match="up to its root"):
        signing.sign_pdf(unsigned)


def test_only_an_unsigned_pdf_is_signed(configured, unsigned):
    with pytest.raises(signing.ExportSigningError, match="not a readable PDF"):
        signing.sign_pdf(b"%PDF-1.7 but nothing else")
    with pytest.raises(signing.ExportSigningError, match="signed already"):
        signing.sign_pdf(signing.sign_pdf(unsigned))


def _cert(subject, issuer, public_key, signing_key, *, ca):
    usage = (
        (False, False, False, False, False, True, True, False, False)
        if ca
        else (True, True, False, False, False, False, False, False, False)
    )
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, issuer)]))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(OLD)
        .not_valid_after(OLD + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
        .add_extension(x509.KeyUsage(*usage), True)
        .sign(signing_key, hashes.SHA256())
    )


def test_an_ecdsa_key_signs_validly(settings, tmp_path, unsigned):
    """A production key need not be RSA: an ECDSA signature differs each
    time (random nonce) but always verifies."""
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = _cert("EC CA", "EC CA", ca_key.public_key(), ca_key, ca=True)
    cert = _cert("EC signer", "EC CA", key.public_key(), ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = cert.public_bytes(pem).decode()
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = ca.public_bytes(pem).decode()
    trust = verifier.load_trust(str(tmp_path / "ca.pem"))
    first, second = signing.sign_pdf(unsigned), signing.sign_pdf(unsigned)
    assert first != second
    for signed in (first, second):
        assert verifier.verify(signed, trust=trust).exit_code == 0


# -- real exports, made by the exports service --------------------------------


def _export(user, case, capture, **options) -> bytes:
    with capture(execute=True):
        export = services.request_export(actor=user, case=case, **options)
    export.refresh_from_db()
    assert export.status == ExportStatus.DONE, export.error
    return services.record_download(actor=user, export=export)[1]


@pytest.mark.parametrize("variant", ["full", "vendor"])
def test_a_real_export_is_signed_and_verifies(
    variant, configured, legal, rich_case, django_capture_on_commit_callbacks
):
    data = _export(legal, rich_case, django_capture_on_commit_callbacks, variant=variant)
    trust = verifier.load_trust(str(configured.ca_cert))
    report = verifier.verify(data, trust=trust)
    assert report.exit_code == 0, report.render()
    assert all(c.ok for c in report.checks), report.render()
    assert f"{variant} variant of case {rich_case.reference}" in report.render()
    if variant == "vendor":
        assert "withheld" in report.render()
    for offset in (100, len(data) // 2, len(data) - 700, len(data) - 3):
        assert verifier.verify(support.flip(data, offset), trust=trust).exit_code == 2


def test_a_real_export_joined_from_parallel_parts_verifies(configured, rich_case):
    data, bundle, pages, signed = services.produce(
        case=rich_case, variant="full", communications="full", format="pdf", split=3
    )
    assert signed and len(bundle["events"]) > 3 and pages > 1
    report = verifier.verify(data, trust=verifier.load_trust(str(configured.ca_cert)))
    assert report.exit_code == 0, report.render()


def test_real_json_and_unsigned_exports(
    settings, legal, rich_case, django_capture_on_commit_callbacks
):
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = settings.DISCLOSURE_EXPORT_SIGNING_CERT = ""
    capture = django_capture_on_commit_callbacks
    unsigned = _export(legal, rich_case, capture)
    assert verifier.verify(unsigned).exit_code == 2
    assert verifier.verify(unsigned, allow_unsigned=True).exit_code == 6  # intact, unauthenticated
    as_json = _export(legal, rich_case, capture, format="json")
    assert verifier.verify(as_json).exit_code == 2
    report = verifier.verify(as_json, allow_unsigned=True, ledger_keys=[public_hex(signing_key())])
    assert report.exit_code == 6, report.render()
    assert report.missing_anchors == [verifier.NEED_SIGNATURE]


def test_the_signature_carries_each_certificate_once(configured, unsigned):
    """Issue 15, finding 3: pyHanko added the signer's certificate beside the
    copy in the registry, so it travelled twice."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    signed = signing.sign_pdf(unsigned)
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    carried = [c.chosen.subject.native["common_name"] for c in sig.signed_data["certificates"]]
    assert sorted(carried) == [
        "Research Firm development export CA",
        "Research Firm export signing (development)",
    ]


def test_a_chain_setting_with_repeats_and_strangers_embeds_only_the_path(
    settings, old_certs, tmp_path, unsigned
):
    """The chain setting may repeat a CA or hold others (a CA bundle): the
    signature still carries the signer's path to its root, each once."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    stranger = signing.make_development_certificates(tmp_path, organization="Stranger")
    support.use_certificates(settings, old_certs)
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = (
        old_certs.signing_cert.read_text() + old_certs.ca_cert.read_text()
    )
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = (
        stranger.ca_cert.read_text() + old_certs.ca_cert.read_text()
    )
    signed = signing.sign_pdf(unsigned)
    sig = PdfFileReader(io.BytesIO(signed)).embedded_signatures[0]
    carried = [c.chosen.subject.native["common_name"] for c in sig.signed_data["certificates"]]
    assert sorted(carried) == [
        "Research Firm development export CA",
        "Research Firm export signing (development)",
    ]
    report = verifier.verify(signed, trust=verifier.load_trust(str(old_certs.ca_cert)))
    assert report.exit_code == 0, report.render()


def test_a_chain_that_goes_round_in_a_circle_is_refused(settings, tmp_path, unsigned):
    key_a, key_b = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    key = ec.generate_private_key(ec.SECP256R1())
    ca_a = _cert("Loop A", "Loop B", key_a.public_key(), key_b, ca=True)
    ca_b = _cert("Loop B", "Loop A", key_b.public_key(), key_a, ca=True)
    cert = _cert("Loop signer", "Loop A", key.public_key(), key_a, ca=False)
    pem = serialization.Encoding.PEM
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = cert.public_bytes(pem).decode()
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = (
        ca_a.public_bytes(pem) + ca_b.public_bytes(pem)
    ).decode()
    with pytest.raises(ImproperlyConfigured, match="never reaches a self-signed root"):
        signing.sign_pdf(unsigned)
