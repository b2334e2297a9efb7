"""Exports for the signing and verification tests: a real case's ledger
bundled as the export contract says (full variant: every hashed body and its
hash; the latest checkpoint without its entries; the case's inclusion proof),
rendered by WeasyPrint as PDF/A-3b with the bundle attached and the head in
the document's subject, independently of the exports renderer."""

import html
import io
from datetime import UTC, datetime
from typing import Any

from weasyprint import HTML, Attachment

from disclosure.core.canonical import canonical_json
from disclosure.core.timeutils import iso_utc, now
from disclosure.exports import signing
from disclosure.ledger.chain import body_of
from disclosure.ledger.checkpoints import checkpoint_document, inclusion_proof, write_checkpoint
from disclosure.ledger.models import Checkpoint

ATTACHMENT = "disclosure-export.json"


def full_bundle(case, *, generated_at: datetime | None = None) -> dict[str, Any]:
    """The full-variant bundle of ``case``, with a checkpoint covering its
    current head (written here when the latest does not)."""
    case.refresh_from_db()
    reference = case.reference
    events = [{**body_of(e, reference), "hash": e.hash} for e in case.events.order_by("seq")]
    cp = Checkpoint.objects.order_by("-seq").first()
    if cp is None or [reference, case.ledger_seq, case.ledger_head] not in cp.entries:
        cp = write_checkpoint(force=True).checkpoint
    document = {k: v for k, v in checkpoint_document(cp).items() if k != "entries"}
    return {
        "format": "disclosure-export",
        "v": 1,
        "variant": "full",
        "generated_at": iso_utc(generated_at or now()),
        "case": {
            "reference": reference,
            "title": case.title,
            "vendor": case.vendor.name,
            "stage": case.stage,
        },
        "chain": {"seq": case.ledger_seq, "head": case.ledger_head},
        "events": events,
        "records": {
            "communications": [],
            "evidence": [],
            "attestation": None,
            "disputes": [],
            "escalations": [],
        },
        "checkpoint": document,
        "inclusion_proof": inclusion_proof(cp, reference),
    }


def vendor_bundle(full: dict[str, Any], *, withhold: set[int], project: set[int]) -> dict:
    """``full`` as a vendor variant: the events of seq in ``withhold`` reduced
    to their hashes, those in ``project`` with a projected (emptied) payload."""
    events = []
    for e in full["events"]:
        if e["seq"] in withhold:
            events.append({k: e[k] for k in ("seq", "prev_hash", "hash")} | {"withheld": True})
        elif e["seq"] in project:
            keep = ("seq", "kind", "occurred_at", "recorded_at", "actor", "prev_hash", "hash")
            events.append({k: e[k] for k in keep} | {"payload": {}, "projected": True})
        else:
            events.append(e)
    return {**full, "variant": "vendor", "events": events}


def render(
    bundle: dict[str, Any], *, printed_head: str | None = None, raw: bytes | None = None
) -> bytes:
    """A PDF/A-3b with ``bundle`` attached as canonical JSON (or ``raw``), its
    subject stating the reference and ``printed_head`` (default: the
    bundle's head), dates and identifier fixed from the bundle."""
    reference = bundle["case"]["reference"]
    head = printed_head or bundle["chain"]["head"]
    created = datetime.strptime(bundle["generated_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    rows = "".join(
        f"<tr><td>{e['seq']}</td><td>{html.escape(str(e.get('kind', 'withheld')))}</td>"
        f"<td>{e['hash']}</td></tr>"
        for e in bundle["events"]
    )
    document = (
        "<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(reference)} timeline</title>"
        f"<meta name='description' content='Disclosure case {reference} chain head {head}'>"
        f"<meta name='dcterms.created' content='{stamp}'>"
        f"<meta name='dcterms.modified' content='{stamp}'>"
        "<style>@page { size: A4; margin: 2cm; @bottom-center { content: 'chain head "
        f"{head}'; font-size: 7pt }} }} table {{ table-layout: fixed; width: 100% }}"
        "td { font-size: 7pt; word-break: break-all }</style>"
        f"</head><body><h1>{html.escape(reference)}: {html.escape(bundle['case']['title'])}</h1>"
        f"<table>{rows}</table></body></html>"
    )
    data = raw if raw is not None else canonical_json(bundle)
    attachment = Attachment(
        file_obj=io.BytesIO(data),
        name=ATTACHMENT,
        relationship="Data",
        created=created,
        modified=created,
    )
    return HTML(string=document).write_pdf(
        attachments=[attachment],
        pdf_variant="pdf/a-3b",
        pdf_identifier=head[:32].encode("ascii"),
    )


def use_certificates(settings, certs) -> None:
    """Configure export signing with ``certs`` (DevelopmentCertificates)."""
    settings.DISCLOSURE_EXPORT_SIGNING_KEY = str(certs.signing_key)
    settings.DISCLOSURE_EXPORT_SIGNING_CERT = str(certs.signing_cert)
    settings.DISCLOSURE_EXPORT_SIGNING_CHAIN = str(certs.ca_cert)
    settings.DISCLOSURE_EXPORT_SIGNING_KEY_PASSPHRASE = ""


def flip(data: bytes, offset: int, mask: int = 0xFF) -> bytes:
    """``data`` with the byte at ``offset`` XORed with ``mask``."""
    return data[:offset] + bytes([data[offset] ^ mask]) + data[offset + 1 :]


def attacker_signs(settings, mallory_certs, bundle, **render_options):
    """Render ``bundle`` again and sign it with the attacker's own CA."""
    use_certificates(settings, mallory_certs)
    return signing.sign_pdf(render(bundle, **render_options))
