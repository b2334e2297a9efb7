"""manage.py make_signing_cert: a development CA and a signing certificate
that sign exports the verifier trusts with --trust ca.pem."""

import io
import stat
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import CommandError, call_command

from disclosure.exports import signing, verifier
from tests.exports import support_signing as support
from tests.factories import make_case


def _run(*args) -> str:
    out = io.StringIO()
    call_command("make_signing_cert", *args, stdout=out)
    return out.getvalue()


def _env(output: str) -> dict[str, str]:
    return dict(
        line.split("=", 1) for line in output.splitlines() if line.startswith("DISCLOSURE_")
    )


def test_it_writes_a_ca_and_a_signing_certificate_issued_by_it(tmp_path):
    output = _run("--out", str(tmp_path / "keys"), "--organization", "Contoso Research")
    folder = tmp_path / "keys"
    assert _env(output) == {
        "DISCLOSURE_EXPORT_SIGNING_KEY": str(folder / "signing-key.pem"),
        "DISCLOSURE_EXPORT_SIGNING_CERT": str(folder / "signing-cert.pem"),
        "DISCLOSURE_EXPORT_SIGNING_CHAIN": str(folder / "ca.pem"),
    }
    assert f"verify_export FILE --trust {folder / 'ca.pem'}" in output
    assert stat.S_IMODE((folder / "signing-key.pem").stat().st_mode) == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [
        "ca.pem",
        "signing-cert.pem",
        "signing-key.pem",
    ]  # the CA's own key is never written
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    cert = x509.load_pem_x509_certificate((folder / "signing-cert.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / "signing-key.pem").read_bytes(), None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 3072
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()
    cert.verify_directly_issued_by(ca)
    ca.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is True
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    org = x509.NameOID.ORGANIZATION_NAME
    assert cert.subject.get_attributes_for_oid(org)[0].value == "Contoso Research"
    now = datetime.now(UTC)
    assert cert.not_valid_before_utc <= now <= cert.not_valid_after_utc
    assert cert.not_valid_after_utc - now > timedelta(days=800)
    assert ca.not_valid_after_utc > cert.not_valid_after_utc


def test_its_environment_signs_exports_that_verify_against_its_ca(
    db, settings, tmp_path, analyst, vendor
):
    env = _env(_run("--out", str(tmp_path / "keys")))
    for name, value in env.items():
        setattr(settings, name, value)
    assert signing.signing_configured()
    case = make_case("secured", actor=analyst, vendor=vendor)
    signed = signing.sign_pdf(support.render(support.full_bundle(case)))
    trust = verifier.load_trust(env["DISCLOSURE_EXPORT_SIGNING_CHAIN"])
    report = verifier.verify(signed, trust=trust)
    assert report.exit_code == 0, report.render()
    assert "export signing (development)" in report.render()


def test_it_never_overwrites_certificates_unless_forced(tmp_path):
    _run("--out", str(tmp_path))
    before = (tmp_path / "ca.pem").read_bytes()
    with pytest.raises(CommandError, match=r"already holds ca\.pem"):
        _run("--out", str(tmp_path))
    assert (tmp_path / "ca.pem").read_bytes() == before
    _run("--out", str(tmp_path), "--force")
    assert (tmp_path / "ca.pem").read_bytes() != before


@pytest.mark.parametrize(
    "args, message",
    [
        (["--days", "0"], "--days must be at least 1"),
        (["--organization", " "], "--organization must not be empty"),
    ],
)
def test_bad_options_write_nothing(tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        _run("--out", str(tmp_path / "keys"), *args)
    assert not (tmp_path / "keys").exists()


def test_an_unwritable_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CommandError, match="Cannot write to"):
        _run("--out", str(blocker / "keys"))
