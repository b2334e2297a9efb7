"""The staff pages of the re-probes: the history, the settings form, "probe
now", and the two offers. Staff only (others: sign-in or 404), changes by
those who edit case details (analyst, lead, admin; others 403)."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from disclosure.cases import access, selectors
from disclosure.cases.models import Case
from disclosure.core.errors import DomainError, NotFound, NotPermitted

from . import runs, services
from .forms import ScheduleForm
from .models import ProbeResult
from .selectors import probe_panel, results_for

PAGE = 50


def _staff_case(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Anonymous: sign in; not staff, or a case not visible: 404; passes the case."""

    @wraps(view)
    def wrapper(request: HttpRequest, reference: str, *args, **kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not access.can_use_staff_ui(request.user):
            raise Http404("No such page.")
        case = selectors.case_by_reference(request.user, reference)
        if case is None or not access.can(request.user, access.Action.VIEW_INTERNAL, case):
            raise Http404("No such case.")
        return view(request, case, *args, **kwargs)

    return wrapper


def _require_change(request: HttpRequest, case: Case) -> None:
    if not access.can(request.user, services.CHANGE_ACTION, case):
        raise PermissionDenied(f"You may not change the re-probes of {case.reference}.")


def _page(request: HttpRequest, case: Case, form: ScheduleForm, status: int = 200) -> HttpResponse:
    panel = probe_panel(request.user, case)
    page = Paginator(results_for(request.user, case), PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "probes/history.html",
        {"case": case, "panel": panel, "page": page, "form": form},
        status=status,
    )


def _initial(case: Case) -> dict:
    panel_schedule = getattr(case, "probe_schedule", None)
    if panel_schedule is None:
        return {"paused": False, "interval_hours": services.default_interval(), "url": ""}
    return {
        "paused": panel_schedule.paused,
        "interval_hours": panel_schedule.interval_hours,
        "url": panel_schedule.url,
    }


@_staff_case
def history(request: HttpRequest, case: Case) -> HttpResponse:
    """Every re-probe of the case, newest first, and the settings form."""
    return _page(request, case, ScheduleForm(initial=_initial(case)))


@require_POST
@_staff_case
def schedule(request: HttpRequest, case: Case) -> HttpResponse:
    """Pause/resume, interval and probe URL."""
    _require_change(request, case)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.update_schedule(actor=request.user, case=case, **form.service_kwargs())
        except NotFound as e:
            raise Http404(e.message) from e
        except NotPermitted as e:
            raise PermissionDenied(e.message) from e
        except DomainError as e:
            form.add_domain_error(e)
        else:
            messages.success(request, "Re-probe settings saved.")
            return redirect("probes:history", reference=case.reference)
    return _page(request, case, form, status=400)


def _act(request: HttpRequest, case: Case, action: Callable[[], object], done: str) -> HttpResponse:
    try:
        outcome = action()
    except NotFound as e:
        raise Http404(e.message) from e
    except NotPermitted as e:
        raise PermissionDenied(e.message) from e
    except DomainError as e:
        messages.error(request, e.message)
        return redirect(case.get_absolute_url() + "#probes")
    messages.success(request, done.format(outcome=outcome))
    if isinstance(outcome, Case):
        return redirect(outcome.get_absolute_url())
    return redirect(case.get_absolute_url() + "#probes")


@require_POST
@_staff_case
def probe_now(request: HttpRequest, case: Case) -> HttpResponse:
    """Probe the asset now."""
    _require_change(request, case)
    return _act(
        request,
        case,
        lambda: runs.probe_now(actor=request.user, case=case),
        "Probed: {outcome.verdict}.",
    )


def _result(case: Case, result_id: int) -> ProbeResult:
    result = ProbeResult.objects.filter(case=case, pk=result_id).first()
    if result is None:
        raise Http404("No such re-probe.")
    return result


@require_POST
@_staff_case
def record_secured(request: HttpRequest, case: Case, result_id: int) -> HttpResponse:
    """Record 'secured' with a 'no longer public' capture as the re-test."""
    result = _result(case, result_id)
    if not access.can(request.user, "secure", case):
        raise PermissionDenied(f"You may not record {case.reference} as secured.")
    return _act(
        request,
        case,
        lambda: services.record_secured_from_probe(actor=request.user, case=case, result=result),
        "Recorded as secured, with the re-probe as the re-test.",
    )


@require_POST
@_staff_case
def open_follow_up(request: HttpRequest, case: Case, result_id: int) -> HttpResponse:
    """Open the linked follow-up case for a re-exposure."""
    result = _result(case, result_id)
    if not access.can(request.user, "open_follow_up", case):
        raise PermissionDenied(f"You may not open a follow-up of {case.reference}.")
    return _act(
        request,
        case,
        lambda: services.open_follow_up_from_probe(actor=request.user, case=case, result=result),
        "Follow-up case {outcome.reference} opened.",
    )
