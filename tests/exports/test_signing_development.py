"""Development signing certificates (disclosure/exports/signing.py): in
debug mode with no signing settings, exports are signed with a development
CA and certificate made once under var/keys/export-signing/, so that a
newcomer's first export verifies (finding 16.2: it was left unsigned)."""

import io
import stat
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from disclosure.exports import services, signing
from tests.factories import make_case

FILES = ["ca.pem", "signing-cert.pem", "signing-key.pem"]


def test_the_development_folder_is_the_one_make_signing_cert_writes_to(settings):
    assert signing.development_folder() == Path(settings.BASE_DIR, "var/keys/export-signing")


@pytest.fixture
def dev_settings(settings, tmp_path, monkeypatch):
    """Debug mode, no signing settings, the development folder under this
    test's folder."""
    settings.DEBUG = True
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = ""
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = ""
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = ""
    folder = tmp_path / "var" / "keys" / "export-signing"
    monkeypatch.setattr(signing, "development_folder", lambda: folder)
    return folder


def _trusted(data: bytes, ca: Path) -> bool:
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    (embedded,) = reader.embedded_signatures
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(ca))])
    status = validate_pdf_signature(embedded, context)
    return status.intact and status.valid and status.trusted


def test_debug_mode_without_settings_signs_with_a_development_certificate(
    db, dev_settings, analyst, vendor
):
    assert not dev_settings.exists()
    case = make_case("vendor_notified", actor=analyst, vendor=vendor)
    data, _bundle, _pages, signed = services.produce(
        case=case, variant="full", communications="full", format="pdf"
    )
    assert signed is True
    assert sorted(p.name for p in dev_settings.iterdir()) == FILES
    assert stat.S_IMODE((dev_settings / "signing-key.pem").stat().st_mode) == 0o600
    assert _trusted(data, dev_settings / "ca.pem")


def test_the_development_certificate_is_made_once_and_reused(dev_settings):
    assert signing.signing_configured() is True
    first = (dev_settings / "ca.pem").read_bytes()
    signing._identity.cache_clear()
    assert signing.signing_configured() is True
    assert signing.signing_identity().certificate.subject.human_friendly == (
        "Common Name: Disclosure Research export signing (development), "
        "Organization: Disclosure Research"
    )
    assert (dev_settings / "ca.pem").read_bytes() == first
    assert sorted(p.name for p in dev_settings.parent.iterdir()) == ["export-signing"]


def test_production_mode_without_settings_makes_nothing_and_stays_unsigned(dev_settings, settings):
    settings.DEBUG = False
    assert signing.signing_configured() is False
    with pytest.raises(ImproperlyConfigured):
        signing.signing_identity()
    assert not dev_settings.parent.exists()


def test_configured_certificates_win_over_the_development_ones(dev_settings, settings, tmp_path):
    firm = signing.make_development_certificates(tmp_path / "firm", organization="Firm Ltd")
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(firm.signing_key)
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = str(firm.signing_cert)
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = str(firm.ca_cert)
    assert signing.signing_configured() is True
    assert "Firm Ltd" in signing.signing_identity().certificate.subject.human_friendly
    assert not dev_settings.exists()


def test_a_half_written_development_folder_is_refused_not_overwritten(dev_settings):
    dev_settings.mkdir(parents=True)
    (dev_settings / "ca.pem").write_text("kept")
    with pytest.raises(ImproperlyConfigured, match="make_signing_cert --force"):
        signing.signing_configured()
    assert (dev_settings / "ca.pem").read_text() == "kept"
