"""The case page (read side) and the access-checked evidence download."""

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers

from disclosure.cases import selectors
from disclosure.core.errors import NotFound
from disclosure.core.responses import attachment
from disclosure.evidence.downloads import open_download
from disclosure.evidence.integrity import EvidenceCorrupt

from .. import case_page as read_model
from ..decorators import staff_required


def _case_or_404(request: HttpRequest, reference: str):
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    return case


@staff_required
def case_detail(request: HttpRequest, reference: str, tab: str = read_model.DEFAULT_TAB):
    """The case: header, stage bar, deadlines, actions, the tab links and
    one tab (``/cases/<ref>/`` shows the timeline; ``/cases/<ref>/<tab>/``
    each other tab), the whole page without JavaScript. An htmx request for
    the tab panel gets the panel alone (with the tab links, swapped out of
    band); one for the timeline's next page, the timeline alone."""
    case = _case_or_404(request, reference)
    params = {key: request.GET.get(key) for key in ("page", "size", "cpage", "epage")}
    htmx = request.htmx and not request.htmx.history_restore_request
    if htmx and tab == "timeline" and request.htmx.target == "timeline":
        response = render(
            request,
            "staff/case/_timeline.html",
            read_model.timeline_context(
                request.user, case, page=params["page"], size=params["size"]
            ),
        )
    elif htmx and request.htmx.target == "tab-panel":
        context = read_model.tab_panel(request.user, case, tab, params)
        response = render(request, "staff/case/_tab_panel.html", context)
    else:
        context = read_model.case_page(request.user, case, tab=tab, params=params)
        response = render(request, "staff/case/detail.html", {**context, "nav": "cases"})
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@staff_required
def evidence_download(
    request: HttpRequest, reference: str, evidence_id: int
) -> FileResponse | HttpResponse:
    """Stream one evidence file of the case as an attachment under its
    original name, with the content type the server detected at upload and
    ``nosniff``; the download is logged in the case's ledger. 404 for a case
    or file the user may not see, and for another case's file."""
    case = _case_or_404(request, reference)
    try:
        download = open_download(
            actor=request.user, case=case, evidence_id=evidence_id, via="staff"
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except EvidenceCorrupt as exc:  # nothing served; the alarm is raised
        messages.error(request, exc.message)
        return redirect(case.get_absolute_url() + "#evidence")
    evidence = download.evidence
    return attachment(
        download.stream, filename=evidence.original_name, content_type=evidence.content_type
    )
