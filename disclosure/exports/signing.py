"""PAdES signatures on exported PDFs, and development signing certificates.

The firm's key and certificate come from the settings
``DISCLOSURE_EXPORT_SIGNING_KEY`` and ``DISCLOSURE_EXPORT_SIGNING_CERT``
(PEM text, or the path of a PEM or DER file), with the CA certificates up
to and including the root in ``DISCLOSURE_EXPORT_SIGNING_CHAIN`` (they
travel in the signature, so the verifier can check each of them: the
signature carries the signing certificate and that path to the root, each
certificate once and nothing else) and the
key's passphrase in ``DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE``. Without a
key and a certificate exports stay unsigned; setting only one of them, or a
chain that stops short of a root, is an error.

``sign_pdf`` appends one invisible PAdES baseline B-B signature
(``/SubFilter /ETSI.CAdES.detached``, SHA-256) as an incremental update,
so its byte range covers the whole signed file. It is reproducible: the
signing time (the ``/M`` entry; PAdES keeps it out of the CMS) is the
document's own creation date (``/CreationDate``, which the renderer derives
from the bundle's ``generated_at``), moved up to the certificate's
``notBefore`` when the document is older than the certificate; the second
half of the trailer's ``/ID`` is derived from the unsigned bytes instead of
being random. The same unsigned bytes and the same key therefore give a
valid signature every time, byte for byte the same with an RSA key (PKCS #1
v1.5 is deterministic; ECDSA draws a random nonce).
"""

import dataclasses
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import VENDOR, DocumentMetadata
from pyhanko.pdf_utils.misc import PdfReadError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from disclosure.core import tsa

log = logging.getLogger(__name__)
FIELD_NAME = "DisclosureExportSignature"
REASON = "Disclosure case export: issued by the research firm"


class ExportSigningError(ValueError):
    """The PDF cannot be signed (not a PDF, or signed already)."""


def _setting(name: str) -> str:
    return (getattr(settings, name, "") or "").strip()


def signing_configured() -> bool:
    """Whether exports are to be signed: a key and a certificate are set, or
    neither is and the mode is debug, where the development certificate is
    used (``development_certificates``, made on first use). Raises
    ImproperlyConfigured when only one of them is set."""
    key = _setting("DISCLOSURE_EXPORT_SIGNING_KEY")
    cert = _setting("DISCLOSURE_EXPORT_SIGNING_CERT")
    if bool(key) != bool(cert):
        raise ImproperlyConfigured(
            "DISCLOSURE_EXPORT_SIGNING_KEY and DISCLOSURE_EXPORT_SIGNING_CERT must be set "
            "together (PEM text or file paths), or neither (exports stay unsigned)."
        )
    return bool(key) or development_certificates() is not None


def _material(value: str, setting: str) -> bytes:
    """PEM text as given, or the bytes of the file it names."""
    if value.startswith("-----BEGIN"):
        return value.encode("ascii")
    try:
        return Path(value).read_bytes()
    except OSError as exc:
        raise ImproperlyConfigured(f"{setting}: cannot read {value!r} ({exc.strerror})") from exc


@dataclass(frozen=True)
class SigningIdentity:
    signer: signers.SimpleSigner
    certificate: asn1_x509.Certificate

    @property
    def not_before(self) -> datetime:
        return self.certificate.not_valid_before

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after


def _same_key(cert: asn1_x509.Certificate, key: asn1_keys.PrivateKeyInfo) -> bool:
    """Whether ``key`` is the private half of ``cert``'s public key."""
    public = serialization.load_der_private_key(key.dump(), password=None).public_key()
    raw = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    certified = x509.load_der_x509_certificate(cert.dump()).public_key()
    return public.public_bytes(*raw) == certified.public_bytes(*raw)


def _chain_to_root(
    signing_cert: asn1_x509.Certificate, extra: list[asn1_x509.Certificate]
) -> list[asn1_x509.Certificate]:
    """The CA certificates from the signing certificate's issuer up to a
    self-signed root, each once, picked from ``extra`` (which may hold
    repeats and others: they are left out). The signature carries exactly
    these and the signing certificate, so that the verifier can check every
    certificate in it (even without --trust) and refuse any other; refuse a
    chain that stops short."""
    chain = [(c, x509.load_der_x509_certificate(c.dump())) for c in extra]
    current = x509.load_der_x509_certificate(signing_cert.dump())
    path: list[asn1_x509.Certificate] = []
    while current.issuer != current.subject and len(path) <= len(chain):
        issuer = next(((a, c) for a, c in chain if c.subject == current.issuer), None)
        if issuer is None:
            raise ImproperlyConfigured(
                "DISCLOSURE_EXPORT_SIGNING_CHAIN must hold every CA certificate from the "
                f"signing certificate up to its root; {current.issuer.rfc4514_string()} "
                "is missing."
            )
        path.append(issuer[0])
        current = issuer[1]
    if current.issuer != current.subject:
        raise ImproperlyConfigured(
            "DISCLOSURE_EXPORT_SIGNING_CHAIN goes round in a circle and never reaches a "
            "self-signed root."
        )
    return path


@lru_cache(maxsize=4)
def _identity(key: str, cert: str, chain: str, passphrase: str) -> SigningIdentity:
    try:
        private_key = load_private_key_from_pemder_data(
            _material(key, "DISCLOSURE_EXPORT_SIGNING_KEY"), passphrase.encode() or None
        )
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            f"DISCLOSURE_EXPORT_SIGNING_KEY is not a usable private key ({exc})"
        ) from exc
    try:
        certs = list(load_certs_from_pemder_data(_material(cert, "DISCLOSURE_EXPORT_SIGNING_CERT")))
        extra = (
            list(load_certs_from_pemder_data(_material(chain, "DISCLOSURE_EXPORT_SIGNING_CHAIN")))
            if chain
            else []
        )
    except ValueError as exc:
        raise ImproperlyConfigured(f"export signing certificate unreadable ({exc})") from exc
    if not certs:
        raise ImproperlyConfigured("DISCLOSURE_EXPORT_SIGNING_CERT holds no certificate.")
    # A certificate file may carry its chain after the signer's certificate.
    signing_cert, extra = certs[0], certs[1:] + extra
    if not _same_key(signing_cert, private_key):
        raise ImproperlyConfigured(
            "DISCLOSURE_EXPORT_SIGNING_KEY does not match DISCLOSURE_EXPORT_SIGNING_CERT."
        )
    # pyHanko adds the signing certificate itself beside the registry's:
    # the registry holds only its CAs, or the signer's would travel twice.
    signer = signers.SimpleSigner(
        signing_cert=signing_cert,
        signing_key=private_key,
        cert_registry=SimpleCertificateStore.from_certs(_chain_to_root(signing_cert, extra)),
    )
    return SigningIdentity(signer=signer, certificate=signing_cert)


def signing_identity() -> SigningIdentity:
    """The configured signer (ImproperlyConfigured when there is none)."""
    if not signing_configured():
        raise ImproperlyConfigured("No export signing key and certificate are configured.")
    development = None if _setting("DISCLOSURE_EXPORT_SIGNING_KEY") else development_certificates()
    if development is not None:
        return _identity(
            str(development.signing_key),
            str(development.signing_cert),
            str(development.ca_cert),
            "",
        )
    return _identity(
        _setting("DISCLOSURE_EXPORT_SIGNING_KEY"),
        _setting("DISCLOSURE_EXPORT_SIGNING_CERT"),
        _setting("DISCLOSURE_EXPORT_SIGNING_CHAIN"),
        getattr(settings, "DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE", "") or "",
    )


def _creation_date(reader: PdfFileReader) -> datetime | None:
    try:
        raw = reader.trailer["/Info"]["/CreationDate"]
        return generic.parse_pdf_date(str(raw))
    except (KeyError, TypeError, ValueError, PdfReadError):
        return None


def signing_time_for(data: bytes, identity: SigningIdentity) -> datetime:
    """The time written into the signature of ``data`` (see the module's
    docstring): its creation date, not earlier than the certificate."""
    reader = PdfFileReader(io.BytesIO(data), strict=False)
    created = _creation_date(reader) or datetime.now(UTC)
    return max(created.astimezone(UTC), identity.not_before.astimezone(UTC))


@dataclass
class _PinnedModification(DocumentMetadata):
    """Document metadata whose modification time stays the signing time:
    pyHanko sets it to "now" when it writes the update (/ModDate and the
    XMP ModifyDate of a PDF/A), which would make the bytes differ each
    second."""

    def __setattr__(self, name, value):
        if name == "last_modified" and self.__dict__.get("pinned"):
            return
        super().__setattr__(name, value)

    @classmethod
    def pin(cls, meta: DocumentMetadata, when: datetime) -> "_PinnedModification":
        pinned = cls(**{f.name: getattr(meta, f.name) for f in dataclasses.fields(meta)})
        pinned.last_modified = when
        pinned.__dict__["pinned"] = True
        return pinned


class _FixedTimePdfSigner(signers.PdfSigner):
    def __init__(self, *args, signing_time: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session


def sign_pdf(
    data: bytes, *, signing_time: datetime | None = None, timestamper: TimeStamper | None = None
) -> bytes:
    """``data`` with one PAdES B-B signature over the whole file, made with
    the configured key (B-T with ``timestamper``: the signature then carries
    an RFC 3161 signature timestamp in its unsigned attributes, and the
    bytes differ with each timestamp). ``signing_time`` overrides the
    document's creation date. Raises ImproperlyConfigured without a usable
    key and certificate, ExportSigningError when ``data`` is not a PDF or is
    signed already; with ``timestamper``, pyHanko's errors when the TSA
    fails (``sign_export_pdf`` falls back to B-B then)."""
    identity = signing_identity()
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        if reader.embedded_signatures:
            raise ExportSigningError("the PDF is signed already: exports are signed once")
        writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=False)
    except (PdfReadError, ValueError, KeyError) as exc:
        if isinstance(exc, ExportSigningError):
            raise
        raise ExportSigningError(f"not a readable PDF ({exc})") from exc
    when = signing_time or signing_time_for(data, identity)
    writer._meta = _PinnedModification.pin(writer._meta, when)
    if writer._info is not None:
        # pyHanko writes "pyHanko <version>" as the XMP producer but appends it
        # to the Info producer: PDF/A wants the two equal.
        writer._info.get_object()["/Producer"] = generic.TextStringObject(VENDOR)
        writer.mark_update(writer._info)
    first_id = writer._document_id[0]
    writer._document_id = generic.ArrayObject(
        [first_id, generic.ByteStringObject(hashlib.sha256(data).digest()[:16])]
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASON,
    )
    pdf_signer = _FixedTimePdfSigner(
        meta,
        identity.signer,
        new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME),
        signing_time=when,
        timestamper=timestamper,
    )
    out = pdf_signer.sign_pdf(writer, output=io.BytesIO())
    return out.getvalue()


def sign_export_pdf(data: bytes) -> tuple[bytes, bool]:
    """``data`` signed for an export: PAdES B-T (an RFC 3161 timestamp from
    ``DISCLOSURE_TSA_URL`` on the signature) when a TSA is configured, B-B
    otherwise. Returns (bytes, timestamped). A TSA that is down, slow or
    answers nonsense never fails the export: it is then signed B-B, and a
    warning says so (the export's verifier shows it has no trusted time)."""
    stamper = tsa.timestamper()
    if stamper is not None:
        try:
            return sign_pdf(data, timestamper=stamper), True
        except (SigningError, *tsa.TSA_ERRORS) as exc:
            log.warning(
                "export signed PAdES B-B without a trusted time: the TSA %s failed (%s: %s)",
                tsa.tsa_url(),
                type(exc).__name__,
                exc,
            )
    return sign_pdf(data), False


# -- development certificates ----------------------------------------------


@dataclass(frozen=True)
class DevelopmentCertificates:
    ca_cert: Path
    signing_key: Path
    signing_cert: Path

    def environment(self) -> list[str]:
        return [
            f"DISCLOSURE_EXPORT_SIGNING_KEY={self.signing_key}",
            f"DISCLOSURE_EXPORT_SIGNING_CERT={self.signing_cert}",
            f"DISCLOSURE_EXPORT_SIGNING_CHAIN={self.ca_cert}",
        ]


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write ``data`` to ``path`` created with ``mode`` (a key is never
    readable by others, not even for a moment)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        os.fchmod(f.fileno(), mode)
        f.write(data)


def make_development_certificates(
    out_dir: Path, *, organization: str, days: int = 825, now: datetime | None = None
) -> DevelopmentCertificates:
    """Write a development CA certificate (``ca.pem``; its key is used once
    and never written), and a document-signing key and certificate issued by
    it (``signing-key.pem``, mode 600, and ``signing-cert.pem``), RSA 3072 and
    SHA-256. Overwrites files of those names in ``out_dir``."""
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    ca_name = _name(f"{organization} development export CA", organization)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days + 365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"{organization} export signing (development)", organization))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    result = DevelopmentCertificates(
        ca_cert=out_dir / "ca.pem",
        signing_key=out_dir / "signing-key.pem",
        signing_cert=out_dir / "signing-cert.pem",
    )
    pem = serialization.Encoding.PEM
    _write(result.ca_cert, ca_cert.public_bytes(pem), 0o644)
    _write(result.signing_cert, cert.public_bytes(pem), 0o644)
    _write(
        result.signing_key,
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        0o600,
    )
    return result


def development_folder() -> Path:
    """Where debug mode keeps its development signing certificate (the
    folder ``make_signing_cert`` writes to by default)."""
    return Path(settings.BASE_DIR) / "var" / "keys" / "export-signing"


def development_certificates() -> DevelopmentCertificates | None:
    """In debug mode, the development CA, key and certificate in
    ``development_folder()``, made there on first use (RSA 3072, as
    ``make_signing_cert`` makes them), so that a development export is
    signed and verifies with ``verify_export --trust <folder>/ca.pem``;
    None in production mode, which signs only with configured certificates.

    The files are written in a fresh folder beside it and moved into place
    in one rename, so that two processes making them at once end up with
    one complete set. A folder that lacks one of the files is left alone:
    ImproperlyConfigured names the command that replaces it."""
    if not settings.DEBUG:
        return None
    import shutil
    import tempfile

    folder = development_folder()
    files = DevelopmentCertificates(
        ca_cert=folder / "ca.pem",
        signing_key=folder / "signing-key.pem",
        signing_cert=folder / "signing-cert.pem",
    )
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".export-signing-", dir=folder.parent))
        try:
            make_development_certificates(staging, organization=settings.DISCLOSURE_FIRM_NAME)
            os.rename(staging, folder)
        except OSError:
            if not folder.exists():  # not a concurrent maker's folder: a real failure
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    missing = [p.name for p in (files.ca_cert, files.signing_key, files.signing_cert)]
    missing = [name for name in missing if not (folder / name).exists()]
    if missing:
        raise ImproperlyConfigured(
            f"{folder} lacks {', '.join(missing)}: run `manage.py make_signing_cert --force` "
            "to make a development certificate there, or set DISCLOSURE_EXPORT_SIGNING_KEY "
            "and DISCLOSURE_EXPORT_SIGNING_CERT."
        )
    return files
