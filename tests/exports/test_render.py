"""Real PDFs, read back with pypdf: text, attachment, pages, outline,
PDF/A metadata, determinism, and the parallel parts joined."""

import io
import os
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from disclosure.cases import services as services_cases
from disclosure.exports import render, services
from disclosure.exports.bundle import ATTACHMENT_NAME, build_bundle, bundle_bytes
from disclosure.exports.worker import peak_mb
from tests.exports.rich_case import *  # noqa: F403
from tests.exports.rich_case import ESCALATION_ORG, INTERNAL_NOTE, VENDOR_MESSAGE, pdf_pages_text
from tests.factories import inbound_kwargs

GENERATED = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


def _bundle(case, variant="full"):
    case.refresh_from_db()
    return build_bundle(
        case=case,
        variant=variant,
        communications="full",
        generated_at=GENERATED,
        checkpoint=services._covering_checkpoint(case),
    )


def _outline(reader):
    out = []

    def walk(items, level):
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                out.append((level, item.title, reader.get_destination_page_number(item)))

    walk(reader.outline, 1)
    return out


def _check_document(data, bundle):
    reader = PdfReader(io.BytesIO(data))
    pages = pdf_pages_text(data)
    n = len(reader.pages)
    head = bundle["chain"]["head"]
    ref = bundle["case"]["reference"]
    for i, text in enumerate(pages, start=1):
        assert f"page {i} of {n}" in text, f"page {i}"
        assert ref in text and "TLP:AMBER" in text
        assert f"Chain head {head}" in text
    # One attachment: the canonical JSON, related as Data.
    assert list(reader.attachments) == [ATTACHMENT_NAME]
    assert reader.attachments[ATTACHMENT_NAME] == [bundle_bytes(bundle)]
    af = reader.trailer["/Root"]["/AF"]
    assert [a.get_object()["/AFRelationship"] for a in af] == ["/Data"]
    # PDF/A-3b metadata and the printed head in the document information.
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="B"' in xmp
    assert reader.metadata["/Subject"] == f"Disclosure case {ref} chain head {head}"
    assert reader.metadata["/CreationDate"] == "D:20261123100000Z"
    return reader, pages


@pytest.mark.django_db
def test_the_document_prints_everything_and_carries_the_bundle(rich_case):
    bundle = _bundle(rich_case)
    result = render.render_pdf(bundle)
    assert result.parts == 1
    reader, pages = _check_document(result.data, bundle)
    assert result.pages == len(reader.pages)
    text = "\n".join(pages)
    for expected in (
        rich_case.title, "Contents", "Stages", "Ledger events", "Communications",
        "Evidence manifest", "Deletion attestation", "Disputes", "Escalations", "Integrity",
        VENDOR_MESSAGE, INTERNAL_NOTE, ESCALATION_ORG, "Fewer than 111 entities",
        "65,000 entities in the listing", "Contoso confirms the deletion.",
        "Purge (NIST SP 800-88)", "Corrected by event", "The re-test ran earlier",
        "CET", bundle["checkpoint"]["signature"][:40],
    ):  # fmt: skip
        assert expected in text, expected
    # Line breaks hold (the export's user-agent stylesheet keeps <br>): a
    # time in UTC is never run into the next one.
    assert "UTC2" not in text
    # Every event with its seq and hash.
    flat = text.replace("\n", "")
    # One time format on every page: the case's zone with UTC beside (the
    # cover's generated time, stages, events, communications, evidence,
    # attestation), never UTC with seconds nor a separate local line.
    one_line = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    assert "2026-11-23 11:00 CET (2026-11-23 10:00 UTC)" in one_line
    assert re.findall(r"\d\d:\d\d:\d\d", one_line) == []
    stamps = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d (?:CET|CEST|UTC)\b(?! ?\))", one_line)
    zoned = re.findall(
        r"\d{4}-\d\d-\d\d \d\d:\d\d CES?T \(\d{4}-\d\d-\d\d \d\d:\d\d UTC\)", one_line
    )
    assert len(zoned) == len(stamps) > 2 * len(bundle["events"])
    for e in bundle["events"]:
        assert e["hash"] in flat
    titles = [t for _, t, _ in _outline(reader)]
    assert titles[:4] == ["Cover", "Contents", "Case summary", "Stages"]
    assert "Integrity" in titles


@pytest.mark.django_db
def test_the_same_bundle_renders_the_same_bytes(rich_case):
    bundle = _bundle(rich_case)
    assert render.render_pdf(bundle).data == render.render_pdf(bundle).data


@pytest.mark.django_db
def test_the_vendor_variant_prints_nothing_internal(rich_case):
    bundle = _bundle(rich_case, variant="vendor")
    data = render.render_pdf(bundle).data
    _, pages = _check_document(data, bundle)
    text = "\n".join(pages)
    assert VENDOR_MESSAGE in text
    assert INTERNAL_NOTE not in text and ESCALATION_ORG not in text
    assert "Scanner hit" not in text and "withheld" in text
    # The vendor variant does not carry the case's zone: UTC alone.
    one_line = re.sub(r"\s+", " ", text.replace("\u00a0", " "))
    assert "2026-11-23 10:00 UTC" in one_line and " CET" not in one_line
    assert re.findall(r"\d\d:\d\d:\d\d", one_line) == []


def _resident_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.django_db
def test_a_long_timeline_in_parallel_parts_joins_with_page_numbers_outline_and_attachment(
    rich_case, monkeypatch
):
    monkeypatch.setattr(render, "EVENTS_PER_PART", 5)
    monkeypatch.setattr(render, "COMMS_PER_PART", 1)
    bundle = _bundle(rich_case)
    # This process's peak so far: other tests in the same worker (a 50 MB
    # attachment received) may have set it, and left the heap near it; the
    # render joins the parts here (a few MB) but lays none out here (WeasyPrint
    # in this process would cost it well over a hundred).
    before = peak_mb()
    now = _resident_mb()
    result = render.render_pdf(bundle, split=3)
    assert result.parts > 5
    reader, pages = _check_document(result.data, bundle)
    assert result.pages == len(reader.pages)
    outline = _outline(reader)
    titles = [t for _, t, _ in outline]
    assert titles[:2] == ["Cover", "Contents"]
    assert "Events 1\u20135" in titles and "Messages 1\u20131" in titles
    # Each bookmark leads to the page that starts with its heading, and the
    # contents page lists the same page numbers.
    for _, title, index in outline[2:]:
        assert title in pages[index], title
    integrity = next(i for _, t, i in outline if t == "Integrity")
    assert f"inclusion proof {integrity + 1}" in pages[1].replace("\n", " ")
    # Every event is there once, and the same bundle joins to the same bytes.
    flat = "".join(pages).replace("\n", "")
    for e in bundle["events"]:
        assert flat.count(e["hash"]) >= 1
    assert render.render_pdf(bundle, split=3).data == result.data
    parent, *workers = result.peak_rss_mb
    assert all(mb < 400 for mb in workers)
    assert parent < max(400, before + 1, now + 32)


@pytest.mark.django_db
def test_a_daemon_process_renders_the_parts_itself_to_the_same_bytes(rich_case, monkeypatch):
    monkeypatch.setattr(render, "EVENTS_PER_PART", 8)
    bundle = _bundle(rich_case)
    pooled = render.render_pdf(bundle, split=3).data
    monkeypatch.setattr(render.multiprocessing.current_process(), "daemon", True, raising=False)
    assert isinstance(render._pool(), render._InProcess)
    assert render.render_pdf(bundle, split=3).data == pooled


@pytest.mark.django_db
def test_messages_in_print_order_tlp_once_on_the_cover_labels_and_sizes(rich_case, lead):
    """Issue 16, item 6: messages are numbered 1, 2, 3 ... in the order
    printed (a back-dated message logged last no longer prints as #n out of
    order), the TLP badge is on the cover once; items 4 and 5: coded values
    by their labels, sizes as on the staff page and the portal."""
    from datetime import timedelta

    from disclosure.comms.models import Communication
    from tests.exports.rich_case import squash

    late = services_cases.log_communication(
        actor=lead,
        case=rich_case,
        **inbound_kwargs(
            rich_case.vendor_notified_at + timedelta(minutes=5), subject="Back-dated reply"
        ),
    )
    bundle = _bundle(rich_case)
    pages = pdf_pages_text(render.render_pdf(bundle).data)
    assert pages[0].count(bundle["case"]["tlp"]) == 1  # the cover: badge once, no running head
    assert pages[1].count(bundle["case"]["tlp"]) == 1  # other pages: in the running head
    text = squash("\n".join(pages))
    comms = text[text.index("Everymessageto") :]
    numbers = re.findall(r"No\.(\d+)·", comms)
    printed = [int(n) for n in re.findall(r"Record#(\d+)\.", comms)]
    in_order = list(
        Communication.objects.filter(case=rich_case)
        .order_by("occurred_at", "id")
        .values_list("id", flat=True)
    )
    assert numbers == ["1", "2", "3", "4"]
    assert printed == in_order and printed[1] == late.pk  # logged last, printed second
    assert printed != sorted(printed)  # record ids are not the print order
    for label in (
        "Stage" + "Datadeleted",  # not data_deleted
        "(Vendorcontact)",  # not vendor_contact
        "Inbound(fromthevendor)·E-mail",  # not inbound · email
        "1item(s),1.0kB(1,024bytes)",  # the attestation's total, as on staff and portal
    ):
        assert label in text, label
    assert "vendor_contact" not in text and "data_deleted" not in text


def test_the_dispute_section_prints_the_firms_answer_and_the_settlement(rich_case, lead):
    """Issue 16, item 8: the legal PDF prints each dispute's answer and settlement."""
    from tests.exports.rich_case import squash

    dispute = rich_case.disputes.get()
    services_cases.answer_dispute(
        actor=lead, case=rich_case, dispute=dispute, answer="Duplicates were removed."
    )
    services_cases.settle_dispute(
        actor=lead, case=rich_case, dispute=dispute, outcome="rejected", reason="No new facts."
    )
    text = squash("\n".join(pdf_pages_text(render.render_pdf(_bundle(rich_case)).data)))
    section = text[text.index("Disputes") :]
    assert squash("Firm's answer Duplicates were removed.") in section
    assert squash("Settled: rejected Reason: No new facts.") in section
