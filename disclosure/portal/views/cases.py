"""My cases, the case page, its timeline fragment and evidence downloads,
for vendor contacts; and the staff's read-only preview of a case as its
vendor sees it, rendered by the same code.

What a page shows comes from ``cases.vendor_view`` (the visibility
declaration); which cases, from ``access.visible_cases``.
"""

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers

from disclosure.cases import access, selectors, vendor_view
from disclosure.cases.models import Case
from disclosure.core.errors import NotFound
from disclosure.core.responses import attachment
from disclosure.core.timeutils import now
from disclosure.evidence.downloads import open_download
from disclosure.evidence.integrity import EvidenceCorrupt

from ..catalog import portal_actions
from ..decorators import contact_required

CASE_LIST_PAGE_SIZE = 50


def contact_case_or_404(request: HttpRequest, reference: str) -> Case:
    """The case ``reference`` among the contact's visible cases, else 404."""
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    return case


@contact_required
def case_list(request: HttpRequest) -> HttpResponse:
    """Exactly ``visible_cases(contact)``: their organizations' cases from
    notification on, most recently notified first, 50 a page (two queries:
    the count and the page)."""
    rows = (
        access.visible_cases(request.user)
        .select_related("vendor")
        .order_by("-vendor_notified_at", "-id")
    )
    page = Paginator(rows, CASE_LIST_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "portal/case_list.html", {"cases": page, "nav": "cases"})


def _render_case(request: HttpRequest, case: Case, *, preview: bool) -> HttpResponse:
    page = request.GET.get("page")
    if (
        request.htmx
        and request.htmx.target == "timeline"
        and not request.htmx.history_restore_request
    ):
        timeline_page, rows = vendor_view.timeline(case, page=page)
        context = {"case": case, "timeline_page": timeline_page, "timeline": rows}
        response = render(request, "portal/case/_timeline.html", {**context, "preview": preview})
    else:
        context = vendor_view.case_view(
            case,
            at=now(),
            page=page,
            comms_page=request.GET.get("cpage"),
            evidence_page=request.GET.get("epage"),
        )
        actions = [] if preview else portal_actions(request.user, case)
        response = render(
            request,
            "portal/case/detail.html",
            {**context, "actions": actions, "preview": preview, "nav": "cases"},
        )
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response


@contact_required
def case_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The case as the vendor sees it, with the actions open to the contact;
    an htmx request for the timeline gets that section alone."""
    return _render_case(request, contact_case_or_404(request, reference), preview=False)


@contact_required
def evidence_download(
    request: HttpRequest, reference: str, evidence_id: int
) -> FileResponse | HttpResponse:
    """One shared evidence file of the case, as an attachment with
    ``nosniff``, logged in the case's ledger (404 for an internal file,
    another case's file or a case not the contact's)."""
    case = contact_case_or_404(request, reference)
    try:
        download = open_download(
            actor=request.user, case=case, evidence_id=evidence_id, via="portal"
        )
    except NotFound as exc:
        raise Http404(exc.message) from None
    except EvidenceCorrupt as exc:  # nothing served; the alarm is raised
        messages.error(request, exc.message)
        return redirect(reverse("portal:case_detail", args=[case.reference]) + "#evidence")
    evidence = download.evidence
    return attachment(
        download.stream, filename=evidence.original_name, content_type=evidence.content_type
    )


def preview(request: HttpRequest, reference: str) -> HttpResponse:
    """Staff open a case as its vendor sees it: the portal's own page with
    the vendor's visibility, read-only (no actions, no downloads). Anyone
    else gets the sign-in (anonymous) or a 404."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())  # the staff sign-in
    case = selectors.case_by_reference(request.user, reference)
    if case is None or not access.can_preview_as_vendor(request.user, case):
        raise Http404("No such case.")
    if not vendor_view.vendor_sees(case):
        return render(request, "portal/case/preview_hidden.html", {"case": case, "preview": True})
    return _render_case(request, case, preview=True)
