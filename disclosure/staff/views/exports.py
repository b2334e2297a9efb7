"""Legal timeline exports of a case: request one, follow it, download it.

- ``case_exports`` (GET): the case's exports page, the request form and the
  list (status, progress, error, SHA-256, size); an htmx request for the
  list alone gets the list (it polls while an export renders). POST asks
  for an export through ``exports.services.request_export``; domain errors
  become form errors and change nothing.
- ``export_download``: the file, through ``record_download`` (which checks
  access, records the download in the ledger and checks the stored file
  against its SHA-256).

Only users with ``Action.EXPORT`` on the case see any of it: a case the
user may not see is 404, a case they see but may not export is 403.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from disclosure.cases import access, selectors
from disclosure.core.errors import DomainError, NotFound, NotPermitted
from disclosure.core.responses import attachment
from disclosure.exports import selectors as export_selectors
from disclosure.exports import services as export_services
from disclosure.exports.models import (
    CommunicationsMode,
    ExportFormat,
    ExportStatus,
    ExportVariant,
)

from ..decorators import staff_required

PAGE_SIZE = 20
CONTENT_TYPES = {"pdf": "application/pdf", "json": "application/json"}


class ExportRequestForm(forms.Form):
    format = forms.ChoiceField(choices=ExportFormat.choices, initial=ExportFormat.PDF)
    variant = forms.ChoiceField(choices=ExportVariant.choices, initial=ExportVariant.FULL)
    communications = forms.ChoiceField(
        choices=CommunicationsMode.choices, initial=CommunicationsMode.FULL
    )

    def add_domain_error(self, error: DomainError) -> None:
        field = error.field if error.field in self.fields else None
        self.add_error(field, error.message)


def _case_for_export(request: HttpRequest, reference: str):
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    if not access.can(request.user, access.Action.EXPORT, case):
        raise PermissionDenied(f"You are not allowed to export {case.reference}.")
    return case


def exports_context(user, case, *, page=None, limit: int | None = None) -> dict:
    """The list of ``case``'s exports as ``user`` may see them (one page,
    or the newest ``limit``), and whether one is still rendering."""
    rows = export_selectors.exports_for(user, case)
    if limit is not None:
        exports = list(rows[:limit])
        page_obj = None
        total = rows.count() if len(exports) == limit else len(exports)
    else:
        page_obj = Paginator(rows, PAGE_SIZE).get_page(page)
        exports = list(page_obj.object_list)
        total = page_obj.paginator.count
    pending = any(e.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for e in exports)
    return {
        "case": case,
        "exports": exports,
        "exports_page": page_obj,
        "exports_total": total,
        "exports_pending": pending,
        "exports_url": reverse("staff:case_exports", kwargs={"reference": case.reference}),
    }


@staff_required
def case_exports(request: HttpRequest, reference: str) -> HttpResponse:
    case = _case_for_export(request, reference)
    status = 200
    if request.method == "POST":
        form = ExportRequestForm(request.POST)
        if form.is_valid():
            try:
                export = export_services.request_export(
                    actor=request.user, case=case, **form.cleaned_data
                )
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                export.refresh_from_db()
                if export.status == ExportStatus.FAILED:
                    messages.error(request, f"Export #{export.pk} failed: {export.error}")
                else:
                    messages.success(
                        request, f"Export #{export.pk} requested ({export.get_status_display()})."
                    )
                return redirect("staff:case_exports", reference=case.reference)
        status = 400
    else:
        form = ExportRequestForm()
    context = exports_context(request.user, case, page=request.GET.get("page"))
    if request.htmx and request.htmx.target == "exports-list":
        return render(request, "staff/exports/_list.html", context)
    return render(
        request, "staff/exports/page.html", {**context, "form": form, "nav": "cases"}, status=status
    )


@staff_required
def export_download(request: HttpRequest, reference: str, export_id: int) -> HttpResponse:
    case = _case_for_export(request, reference)
    export = export_selectors.export_for(request.user, case, export_id)
    if export is None:
        raise Http404("No such export.")
    try:
        export, data = export_services.record_download(actor=request.user, export=export)
    except NotFound as e:
        raise Http404(e.message) from e
    except NotPermitted as e:
        raise PermissionDenied(e.message) from e
    except DomainError as e:
        messages.error(request, e.message)
        return redirect(reverse("staff:case_exports", kwargs={"reference": case.reference}))
    from io import BytesIO

    return attachment(
        BytesIO(data), filename=export.download_name, content_type=CONTENT_TYPES[export.format]
    )
