"""Render a bundle to a PDF/A-3b document with WeasyPrint.

Safe: every resource goes through ``fetcher.DataOnlyURLFetcher`` (``data:``
only, no redirects); the stylesheet and fonts come from ``assets``'
allow-listed folders; user text reaches the HTML only through Django's
autoescaping templates. Deterministic: the document's dates are the
bundle's ``generated_at`` and its identifier is derived from the bundle's
digest, so the same bundle gives the same bytes.

Fast: a short case renders in one process. A long one (more than
``SPLIT_EVENTS`` events) is cut into parts (summary and stages, the events
in slices, the communications in slices, the records and integrity
section), rendered in parallel worker processes, each well under 400 MB,
and joined by ``pdfjoin``: the front (cover and contents, with the page
numbers the parts ended up with, the attachment and the PDF/A metadata)
comes first, the outline is rebuilt across parts and "page X of Y" is
stamped on every page.
"""

import hashlib
import logging
import multiprocessing
import os
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string

from . import assets
from .bundle import ATTACHMENT_NAME, bundle_bytes, bundle_digest, generated_at_of
from .document import base_context, body_context, communication_rows, event_rows, front_context
from .worker import peak_mb, render_part, write_pdf

SPLIT_EVENTS = 500  # longer timelines are rendered in parallel parts
EVENTS_PER_PART = 1000  # at most (a worker stays near 200 MB)
MIN_EVENTS_PER_PART = 250  # at least, unless EVENTS_PER_PART is lower
COMMS_PER_PART = 250

Progress = Callable[[int], None]

# WeasyPrint logs every layout step at INFO: keep its warnings only.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


@dataclass
class RenderResult:
    data: bytes
    pages: int
    parts: int = 1
    peak_rss_mb: list[float] = field(default_factory=list)  # per render process
    timings: dict[str, float] = field(default_factory=dict)  # seconds since the start
    worker_cpu_seconds: float = 0.0  # CPU time of the worker processes (parallel parts)


def _workers() -> int:
    """Render processes: the setting or environment variable
    DISCLOSURE_EXPORT_WORKERS, else the number of cores up to 4."""
    configured = getattr(settings, "DISCLOSURE_EXPORT_WORKERS", None)
    if configured is None:
        try:
            configured = int(os.environ.get("DISCLOSURE_EXPORT_WORKERS", "0"))
        except ValueError:
            configured = 0
    return max(1, configured or min(4, os.cpu_count() or 1))


def identifier(bundle: dict[str, Any]) -> bytes:
    """The PDF's file identifier: from the bundle, never random."""
    return bundle_digest(bundle)[:32].encode("ascii")


def _w3c(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _toc(ctx: dict[str, Any], pages: dict[str, int] | None = None) -> list[dict[str, Any]]:
    entries = [
        ("summary", "Case summary", 1),
        ("stages", "Stages", 1),
        ("events", "Ledger events", 1),
        *ctx.get("toc_events", []),
        ("communications", "Communications", 1),
        *ctx.get("toc_comms", []),
        ("evidence", "Evidence manifest", 1),
        ("attestation", "Deletion attestation", 1),
        ("disputes", "Disputes", 1),
        *([("escalations", "Escalations", 1)] if ctx["full"] else []),
        ("integrity", "Integrity: chain head, checkpoint, inclusion proof", 1),
    ]
    return [
        {"anchor": a, "title": t, "level": lvl, "page": (pages or {}).get(a)}
        for a, t, lvl in entries
    ]


def _css(ctx: dict[str, Any], *, numbered: bool) -> str:
    return "\n".join(
        (
            assets.font_faces(),
            assets.stylesheet(),
            assets.running_css(
                reference=ctx["reference"],
                tlp=ctx["tlp"],
                tlp_class=ctx["tlp_class"],
                head=ctx["head"],
                numbered=numbered,
            ),
        )
    )


def _context(bundle: dict[str, Any]) -> dict[str, Any]:
    ctx = base_context(bundle)
    ctx["created_w3c"] = _w3c(generated_at_of(bundle))
    ctx["front"] = front_context(bundle)
    ctx["body"] = body_context(bundle, ctx["clock"])
    return ctx


def _html(ctx: dict[str, Any], part: dict[str, Any]) -> str:
    return render_to_string("exports/document.html", {**ctx, "part": part})


def _attachment(bundle: dict[str, Any]):
    from weasyprint import Attachment

    from .fetcher import DataOnlyURLFetcher

    when = generated_at_of(bundle).replace(tzinfo=None)
    return Attachment(
        string=bundle_bytes(bundle),
        name=ATTACHMENT_NAME,
        description="Canonical JSON of the case's events, records, checkpoint and proof",
        relationship="Data",
        created=when,
        modified=when,
        url_fetcher=DataOnlyURLFetcher(),
    )


def _page_count(data: bytes) -> int:
    from io import BytesIO

    from pypdf import PdfReader

    return len(PdfReader(BytesIO(data)).pages)


def render_pdf(
    bundle: dict[str, Any], *, progress: Progress | None = None, split: int | None = None
) -> RenderResult:
    """The PDF of ``bundle``; ``split`` overrides ``SPLIT_EVENTS``."""
    progress = progress or (lambda pct: None)
    limit = SPLIT_EVENTS if split is None else split
    if len(bundle["events"]) <= limit:
        return _render_single(bundle, progress)
    return _render_parts(bundle, progress)


def _render_single(bundle: dict[str, Any], progress: Progress) -> RenderResult:
    ctx = _context(bundle)
    part = {
        "front": True,
        "summary": True,
        "events": event_rows(bundle["events"], ctx["clock"]),
        "events_first": True,
        "comms": communication_rows(bundle["records"]["communications"], ctx["clock"]),
        "comms_first": True,
        "tail": True,
    }
    ctx["toc"] = _toc(ctx)
    html = _html(ctx, part)
    progress(40)
    data, _ = write_pdf(
        html,
        _css(ctx, numbered=True),
        pdf_identifier=identifier(bundle),
        attachments=[_attachment(bundle)],
    )
    progress(90)
    return RenderResult(data=data, pages=_page_count(data), peak_rss_mb=[peak_mb()])


# --- parallel parts ------------------------------------------------------------


def _slices(rows: list, size: int) -> list[list]:
    return [rows[i : i + size] for i in range(0, len(rows), size)] or [[]]


def _pool_context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["disclosure.exports.worker", "weasyprint", "pypdf"])
    return context


class _InProcess:
    """An executor that runs each call at once, in this process: used where
    this process may not start children (a daemonic worker process)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def submit(self, fn, *args):
        from concurrent.futures import Future

        future: Future = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


def _pool():
    """Worker processes for the parts, or in-process rendering when this
    process is a daemon (which may have no children)."""
    if multiprocessing.current_process().daemon:
        return _InProcess()
    return ProcessPoolExecutor(_workers(), mp_context=_pool_context())


def _render_parts(bundle: dict[str, Any], progress: Progress) -> RenderResult:
    from . import pdfjoin

    ctx = _context(bundle)
    pdf_id = identifier(bundle)
    events = event_rows(bundle["events"], ctx["clock"])
    comms = communication_rows(bundle["records"]["communications"], ctx["clock"])
    parts: list[dict[str, Any]] = [{"summary": True}]
    toc_events, toc_comms = [], []
    # Enough parts to keep every worker busy, none over EVENTS_PER_PART.
    per_part = min(EVENTS_PER_PART, max(MIN_EVENTS_PER_PART, -(-len(events) // (2 * _workers()))))
    for i, chunk in enumerate(_slices(events, per_part)):
        anchor = f"events-{i + 1}"
        title = f"Events {chunk[0]['seq']:,}\u2013{chunk[-1]['seq']:,}" if chunk else "Events"
        toc_events.append((anchor, title, 2))
        parts.append(
            {
                "events": chunk,
                "events_first": i == 0,
                "events_title": title,
                "events_anchor": anchor,
            }
        )
    comm_slices = _slices(comms, COMMS_PER_PART)
    for i, chunk in enumerate(comm_slices):
        part = {"comms": chunk, "comms_first": i == 0}
        if len(comm_slices) > 1:
            first, last = i * COMMS_PER_PART + 1, i * COMMS_PER_PART + len(chunk)
            part.update(
                comms_title=f"Messages {first:,}\u2013{last:,}", comms_anchor=f"comms-{i + 1}"
            )
            toc_comms.append((part["comms_anchor"], part["comms_title"], 2))
        parts.append(part)
    parts.append({"tail": True})
    ctx["toc_events"], ctx["toc_comms"] = toc_events, toc_comms
    css = _css(ctx, numbered=False)
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    results: list[Any] = [None] * len(parts)
    with _pool() as pool:
        # Each part goes to a worker as soon as its HTML is ready, so the
        # workers lay out while this process renders the next templates.
        futures = {
            pool.submit(render_part, (_html(ctx, part), css, pdf_id)): i
            for i, part in enumerate(parts)
        }
        timings["templates"] = time.perf_counter() - clock
        front_pages = _front_page_count(ctx)  # meanwhile: the contents' length
        for done, future in enumerate(_as_completed(futures), start=1):
            results[futures[future]] = future.result()
            progress(15 + int(65 * done / len(parts)))
        timings["parts"] = time.perf_counter() - clock

        # Page numbers of every section, counting the front's pages.
        offsets, start = [], front_pages
        for _, pages, *_ in results:
            offsets.append(start)
            start += pages
        total = start
        outline: list[tuple[int, str, int]] = []
        for (_, _, part_outline, *_), offset in zip(results, offsets, strict=True):
            for level, title, index in part_outline:
                outline.append((level, title, offset + index))
        anchors = {
            entry["anchor"]: page + 1
            for entry, page in zip(_toc(ctx), _section_pages(outline, ctx), strict=True)
            if page is not None
        }
        ctx["toc"] = _toc(ctx, pages=anchors)
        landscape = [False] * front_pages + [w for r in results for w in r[4]]
        stamps = pdfjoin.submit_stamps(pool, landscape, _stamp_css(), pdf_id)
        front, _ = write_pdf(
            _html(ctx, {"front": True}),
            css,
            pdf_identifier=pdf_id,
            attachments=[_attachment(bundle)],
        )
        stamp_results = [f.result() for f in stamps]
        stamp_pdfs = [r[0] for r in stamp_results]
        timings["front_and_stamps"] = time.perf_counter() - clock
    progress(85)
    data = pdfjoin.join(
        front=front,
        parts=[r[0] for r in results],
        outline=outline,
        stamps=stamp_pdfs,
        pdf_identifier=pdf_id,
        expected_front_pages=front_pages,
    )
    timings["join"] = time.perf_counter() - clock
    worker_cpu: dict[int, float] = {}
    for pid, seconds in [r[5] for r in results] + [r[2] for r in stamp_results]:
        worker_cpu[pid] = max(worker_cpu.get(pid, 0.0), seconds)
    return RenderResult(
        data=data,
        pages=total,
        parts=len(parts) + 1,
        peak_rss_mb=[peak_mb(), *(r[3] for r in results), *(r[1] for r in stamp_results)],
        timings=timings,
        worker_cpu_seconds=sum(worker_cpu.values()),
    )


def _stamp_css() -> str:
    return "\n".join((assets.font_faces(), assets.stylesheet(), assets.numbers_only_css()))


def _as_completed(futures):
    from concurrent.futures import as_completed

    return as_completed(futures)


def _front_page_count(ctx: dict[str, Any]) -> int:
    """Pages of the cover and contents (page numbers do not change their length)."""
    from .fetcher import DataOnlyURLFetcher
    from .worker import _lean_html_class, stylesheet_with_fonts

    fetcher = DataOnlyURLFetcher()
    probe = {**ctx, "toc": _toc(ctx, pages={e["anchor"]: 9999 for e in _toc(ctx)})}
    html = _lean_html_class()(
        string=_html(probe, {"front": True}), base_url=None, url_fetcher=fetcher
    )
    css, fonts, _ = stylesheet_with_fonts(_css(ctx, numbered=False))
    return len(html.render(stylesheets=[css], font_config=fonts).pages)


def _section_pages(outline: list[tuple[int, str, int]], ctx: dict[str, Any]) -> list[int | None]:
    """The page index where each contents entry starts, matched by title
    from the joined outline."""
    by_title: dict[str, int] = {}
    for _level, title, index in outline:
        by_title.setdefault(title, index)
    titles = {
        "summary": "Case summary",
        "stages": "Stages",
        "events": "Ledger events",
        "communications": "Communications",
        "evidence": "Evidence manifest",
        "attestation": "Deletion attestation",
        "disputes": "Disputes",
        "escalations": "Escalations",
        "integrity": "Integrity",
    }
    out = []
    for entry in _toc(ctx):
        title = titles.get(entry["anchor"], entry["title"])
        out.append(by_title.get(title))
    return out


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
