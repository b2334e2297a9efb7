"""The document's text is set in the embedded fonts of the allow-listed
folder, not in whatever the system's font configuration would pick."""

import io

from pypdf import PdfReader

from disclosure.exports.worker import write_pdf


def _base_fonts(data: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+", 1)[1])
    return names


def test_the_stylesheet_fonts_are_the_ones_embedded():
    from disclosure.exports import assets

    css = (
        assets.font_faces()
        + ' html { font-family: "Export Sans" } code { font-family: "Export Mono" }'
    )
    data, refused = write_pdf(
        "<p>Hello <b>bold</b> <code>0123abcdef</code></p>", css, pdf_identifier=b"0" * 32
    )
    assert refused == []
    assert _base_fonts(data) == {"Export-Sans", "Export-Sans-Bold", "Export-Mono"}
