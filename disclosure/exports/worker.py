"""What a render process runs: WeasyPrint and pypdf only, no Django.

Imported by the parallel renderer's worker processes (a forkserver that
preloads this module), so a part is rendered without loading the project.
"""

import resource
import threading
from functools import lru_cache
from pathlib import Path

from .fetcher import DataOnlyURLFetcher

PDF_VARIANT = "pdf/a-3b"
# The export's user-agent stylesheet, beside its stylesheet (assets.STYLE_DIR).
UA_CSS = Path(__file__).resolve().parents[2] / "static" / "exports" / "ua.css"


@lru_cache(maxsize=1)
def _ua_stylesheet():
    from weasyprint import CSS

    return CSS(string=UA_CSS.read_text(encoding="utf-8"), url_fetcher=DataOnlyURLFetcher())


@lru_cache(maxsize=1)
def _lean_html_class():
    from weasyprint import HTML

    class LeanHTML(HTML):
        """WeasyPrint's HTML with the export's user-agent stylesheet
        (``static/exports/ua.css``: WeasyPrint's own, cut to the elements
        the templates use) in place of the whole HTML5 one."""

        def _ua_stylesheets(self, forms=False):
            return [_ua_stylesheet()]

    return LeanHTML


def write_pdf(
    html: str, css: str, *, pdf_identifier: bytes, attachments=None
) -> tuple[bytes, list[str]]:
    """One WeasyPrint render through the data-only fetcher, as PDF/A-3b.
    Returns the PDF and the URLs that were refused. The stylesheet's
    ``@font-face`` fonts are used (WeasyPrint ignores them without a font
    configuration shared by the stylesheet and the render)."""
    fetcher = DataOnlyURLFetcher()
    document = _lean_html_class()(string=html, base_url=None, url_fetcher=fetcher)
    stylesheet, fonts, css_refused = stylesheet_with_fonts(css)
    data = document.write_pdf(
        stylesheets=[stylesheet],
        font_config=fonts,
        pdf_variant=PDF_VARIANT,
        pdf_identifier=pdf_identifier,
        attachments=attachments or [],
        finisher=_unique_associated_files,
    )
    return data, [*css_refused, *fetcher.refused]


def stylesheet_with_fonts(css: str):
    """(CSS, FontConfiguration) of ``css``, its ``@font-face`` rules loaded,
    and the URLs refused while loading it. Kept for the next render of this
    thread: the parts of one export share their stylesheet, and loading its
    embedded fonts is the costliest step of a small part. (Per thread: a
    threaded web server never shares one font configuration between two
    renders at once.)"""
    return _stylesheet_with_fonts(css, threading.get_ident())


@lru_cache(maxsize=4)
def _stylesheet_with_fonts(css: str, thread: int):
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    fetcher = DataOnlyURLFetcher()
    fonts = FontConfiguration()
    return CSS(string=css, url_fetcher=fetcher, font_config=fonts), fonts, fetcher.refused


def _unique_associated_files(document, pdf) -> None:
    """WeasyPrint 70 lists each PDF/A-3 attachment twice in the catalog's
    ``/AF`` (once from the name tree, once from the file specification):
    keep each file specification once."""
    import pydyf

    af = pdf.catalog.get("AF")
    if af:
        seen: list = []
        for ref in af:
            if ref not in seen:
                seen.append(ref)
        pdf.catalog["AF"] = pydyf.Array(seen)


def peak_mb() -> float:
    """This process's peak resident memory, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu() -> tuple[int, float]:
    """(process id, CPU seconds this process has used so far)."""
    import os

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return os.getpid(), usage.ru_utime + usage.ru_stime


def render_part(job: tuple[str, str, bytes]) -> tuple:
    """Render one part: its PDF, page count, outline ``[(level, title,
    page index)]``, this process's peak memory in MB, which of its pages
    are landscape, and ``cpu()``."""
    import logging

    from .pdfjoin import outline_of

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    html, css, pdf_id = job
    data, _ = write_pdf(html, css, pdf_identifier=pdf_id)
    pages, outline, landscape = outline_of(data)
    return data, pages, outline, peak_mb(), landscape, cpu()


def render_stamp(job: tuple[str, str, bytes]) -> tuple[bytes, float, tuple[int, float]]:
    """Render a chunk of page-number stamps: the PDF, peak memory, ``cpu()``."""
    import logging

    logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)
    html, css, pdf_id = job
    return write_pdf(html, css, pdf_identifier=pdf_id)[0], peak_mb(), cpu()
