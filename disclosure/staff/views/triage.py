"""Received mail in the staff UI (``/mail/``): the triage list of messages
that matched no case (or were refused), a message's page with its raw
headers and text (always escaped), and the three decisions of comms.triage:
attach to a case (by reference), open a new case from it, discard with a
reason.

Every staff member sees the list and the messages; those with
``access.Action.TRIAGE_MAIL`` (analysts, leads, admins) get the forms, the
others a 403 on posting. Domain errors become form errors and change
nothing; a message handled meanwhile is a 409 with what happened to it.
"""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from disclosure.cases import access, selectors
from disclosure.comms import triage
from disclosure.comms.models import InboundMessage
from disclosure.core.errors import DomainError, NotPermitted
from disclosure.core.forms import DomainErrorForm

from ..decorators import staff_required
from ..forms.details import NewCaseForm

PAGE_SIZE = 25


class AttachForm(DomainErrorForm):
    reference = forms.CharField(
        label="Case reference",
        max_length=40,
        help_text="The case to log this message on (DSC-2026-0042).",
        widget=forms.TextInput(attrs={"list": "case-references", "autocomplete": "off"}),
    )


class DiscardForm(DomainErrorForm):
    reason = forms.CharField(
        label="Why discard it?", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


@staff_required
def triage_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(triage.waiting_messages(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/triage/list.html",
        {"page": page, "messages_page": list(page.object_list), "nav": "mail"},
    )


@staff_required
def triage_count(request: HttpRequest) -> HttpResponse:
    """The navigation's badge: how many received messages wait (empty when
    none). Loaded by htmx after the page, so that no page pays its query."""
    count = triage.waiting_count()
    return render(request, "staff/triage/_count.html", {"count": count})


def _detail(
    request, row: InboundMessage, *, attach=None, discard=None, status=200, error: str = ""
):
    view = triage.shown(row)
    return render(
        request,
        "staff/triage/detail.html",
        {
            "message": row,
            "error": error,
            "headers": view.headers,
            "body": view.body,
            "attachments": view.attachments,
            "kept": view.kept,
            "waiting": row.status in triage.WAITING,
            "can_triage": access.can(request.user, access.Action.TRIAGE_MAIL),
            "attach_form": attach or AttachForm(),
            "discard_form": discard or DiscardForm(),
            "recent_cases": selectors.case_list(request.user).order_by("-found_at")[:50],
            "nav": "mail",
        },
        status=status,
    )


def _message(pk: int) -> InboundMessage:
    return get_object_or_404(InboundMessage.objects.select_related("case", "triaged_by"), pk=pk)


def _require_triage(request: HttpRequest) -> None:
    if not access.can(request.user, access.Action.TRIAGE_MAIL):
        raise PermissionDenied("Only analysts, leads and admins triage received mail.")


@staff_required
def triage_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _message(pk))


@staff_required
@require_POST
def triage_attach(request: HttpRequest, pk: int) -> HttpResponse:
    row = _message(pk)
    _require_triage(request)
    form = AttachForm(request.POST)
    if form.is_valid():
        reference = form.cleaned_data["reference"].strip()
        case = selectors.case_list(request.user).filter(reference__iexact=reference).first()
        if case is None:
            form.add_error("reference", f"No case {reference}.")
        else:
            try:
                triage.attach_inbound(actor=request.user, message=row, case=case)
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
                return _detail(request, row, attach=form, status=e.http_status, error=e.message)
            messages.success(request, f"The message is logged on {case.reference}.")
            return redirect("staff:case_tab", reference=case.reference, tab="communications")
    return _detail(request, row, attach=form, status=400)


@staff_required
@require_POST
def triage_discard(request: HttpRequest, pk: int) -> HttpResponse:
    row = _message(pk)
    _require_triage(request)
    form = DiscardForm(request.POST)
    if form.is_valid():
        try:
            triage.discard_inbound(
                actor=request.user, message=row, reason=form.cleaned_data["reason"]
            )
        except NotPermitted as e:
            raise PermissionDenied(e.message) from e
        except DomainError as e:
            form.add_domain_error(e)
            return _detail(request, row, discard=form, status=e.http_status, error=e.message)
        messages.success(request, "The message is discarded.")
        return redirect("staff:triage_list")
    return _detail(request, row, discard=form, status=400)


@staff_required
def triage_new_case(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: the new-case form for this message; POST: open the case and log
    the message on it (``triage.open_case_from_inbound``)."""
    row = _message(pk)
    _require_triage(request)
    status = 200
    if request.method == "POST":
        form = NewCaseForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                case = triage.open_case_from_inbound(
                    actor=request.user, message=row, **form.service_kwargs()
                )
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
                status = e.http_status
            else:
                messages.success(request, f"Case {case.reference} opened with the message.")
                return redirect(case.get_absolute_url())
        else:
            status = 400
    else:
        form = NewCaseForm(initial={"title": row.subject[:200], "how_found": "Received by mail"})
    return render(
        request,
        "staff/triage/new_case.html",
        {"form": form, "message": row, "nav": "mail"},
        status=status,
    )
