"""Join the separately rendered parts of a long export into one PDF.

- The front (cover and contents) is cloned whole: its catalog carries the
  PDF/A-3b metadata (XMP, output intent), the document information (the
  subject naming the chain head) and the attached JSON (``/AF``, ``Data``).
- The parts' pages follow in order; their own outlines are dropped and one
  outline is rebuilt from all of them, with page indexes counted across
  parts.
- "page X of Y" is stamped on every page: a WeasyPrint render of Y pages
  holding nothing but that footer, each of its pages added to the matching
  page as a form XObject drawn after the page's own content (wrapped in
  q/Q). No content stream is parsed, so stamping stays fast however long
  the document.
- The file identifier is the bundle's (never random), so the same parts
  join to the same bytes.
"""

from io import BytesIO

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
)

_XOBJECT = "/DxPageNumber"


def outline_of(data: bytes) -> tuple[int, list[tuple[int, str, int]], list[bool]]:
    """(page count, [(level, title, page index)], landscape flag of each
    page) of a rendered part."""
    reader = PdfReader(BytesIO(data))
    out: list[tuple[int, str, int]] = []

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
            else:
                out.append((level, str(item.title), reader.get_destination_page_number(item)))

    walk(reader.outline, 1)
    landscape = [p.mediabox.width > p.mediabox.height for p in reader.pages]
    return len(reader.pages), out, landscape


def _numbers_html(landscape: list[bool], first: int, total: int) -> str:
    """Stamp pages ``first``..``first + len(landscape) - 1`` of ``total``,
    landscape where the document's page is (the stylesheet's ``events`` pages)."""
    pages = "".join(
        f'<div{" class=l" if wide else ""}><p class="pn">page {first + i} of {total}</p></div>'
        for i, wide in enumerate(landscape)
    )
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "div{break-after:page}div:last-child{break-after:auto}div.l{page:events}"
        "</style></head><body>" + pages + "</body></html>"
    )


def submit_stamps(pool, landscape: list[bool], css: str, pdf_identifier: bytes) -> list:
    """Render the "page X of Y" stamps of a document whose pages are
    ``landscape`` (or not), in chunks on ``pool``: futures of PDFs, in order."""
    from .worker import render_stamp

    total = len(landscape)
    size = max(200, -(-total // 4))
    return [
        pool.submit(
            render_stamp,
            (_numbers_html(landscape[i : i + size], i + 1, total), css, pdf_identifier),
        )
        for i in range(0, total, size)
    ]


def _stream(writer: PdfWriter, data: bytes):
    s = DecodedStreamObject()
    s.set_data(data)
    return writer._add_object(s)


def _stamp(writer: PdfWriter, overlay: list) -> None:
    before = _stream(writer, b"q\n")
    after = _stream(writer, f"Q\nq {_XOBJECT} Do Q\n".encode())
    for page, stamp in zip(writer.pages, overlay, strict=True):
        if stamp.mediabox != page.mediabox:
            raise RuntimeError("the page-number stamp does not match the page's size")
        form = DecodedStreamObject()
        form.set_data(stamp.get_contents().get_data())
        form[NameObject("/Type")] = NameObject("/XObject")
        form[NameObject("/Subtype")] = NameObject("/Form")
        form[NameObject("/BBox")] = ArrayObject(stamp.mediabox)
        form[NameObject("/Resources")] = stamp["/Resources"].clone(writer)
        form_ref = writer._add_object(form)
        resources = DictionaryObject(page.get("/Resources", DictionaryObject()).get_object())
        xobjects = resources.get("/XObject")
        xobjects = (
            DictionaryObject(xobjects.get_object()) if xobjects is not None else DictionaryObject()
        )
        xobjects[NameObject(_XOBJECT)] = form_ref
        resources[NameObject("/XObject")] = xobjects
        page[NameObject("/Resources")] = resources
        contents = page.get("/Contents")
        existing = contents.get_object() if contents is not None else ArrayObject()
        if not isinstance(existing, ArrayObject):
            existing = ArrayObject([contents])
        page[NameObject("/Contents")] = ArrayObject([before, *existing, after])


def join(
    *,
    front: bytes,
    parts: list[bytes],
    outline: list[tuple[int, str, int]],
    stamps: list[bytes],
    pdf_identifier: bytes,
    expected_front_pages: int,
) -> bytes:
    """The whole document: ``front``, then ``parts``, with ``outline``
    (page indexes counted from the first page of the front) and the page
    numbers of ``stamps`` (PDFs of one stamp page per page, in order)."""
    front_reader = PdfReader(BytesIO(front))
    if len(front_reader.pages) != expected_front_pages:
        raise RuntimeError(
            f"the cover and contents took {len(front_reader.pages)} pages, "
            f"{expected_front_pages} were planned"
        )
    info = {k: v for k, v in (front_reader.metadata or {}).items()}
    writer = PdfWriter(clone_from=front_reader)
    for data in parts:
        writer.append(PdfReader(BytesIO(data)), import_outline=False)
    parents: dict[int, object] = {}
    for level, title, index in outline:
        parent = parents.get(level - 1) if level > 1 else None
        parents[level] = writer.add_outline_item(title=title, page_number=index, parent=parent)
    _stamp(writer, [p for data in stamps for p in PdfReader(BytesIO(data)).pages])
    writer.add_metadata(info)
    writer._ID = ArrayObject([ByteStringObject(pdf_identifier), ByteStringObject(pdf_identifier)])
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
