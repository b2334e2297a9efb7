"""The access audit for admins (issue 20): every sign-in, failure,
lock-out, change of factors or password, export, download and lookup, with
who, from where and when; filterable, paginated, exportable as CSV. Also
where an admin unlocks a locked account or address and resets someone's
second factor (both logged). Linked from the account security page."""

import csv
from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from disclosure.accounts import audit, lockout, mfa, selectors
from disclosure.accounts.models import AccessEvent, User
from disclosure.core.errors import DomainError

from ..decorators import staff_required

PAGE_SIZE = 50


class AuditFilter(forms.Form):
    kind = forms.ChoiceField(
        label="What", required=False, choices=[("", "Any"), *AccessEvent.Kind.choices]
    )
    user = forms.CharField(label="User or name typed", required=False, max_length=150)
    address = forms.GenericIPAddressField(label="Address", required=False)
    since = forms.DateField(label="From (UTC)", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip
    until = forms.DateField(label="To (UTC, inclusive)", required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))  # fmt: skip


def _admin_only(request: HttpRequest) -> None:
    if not selectors.can_administer(request.user):
        raise Http404("No such page.")


def _rows(request: HttpRequest):
    form = AuditFilter(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    day = lambda d: datetime.combine(d, time.min, tzinfo=UTC)  # noqa: E731
    rows = audit.events(
        kind=data.get("kind") or "",
        username=data.get("user") or "",
        address=data.get("address") or "",
        since=day(data["since"]) if data.get("since") else None,
        until=day(data["until"]) + timedelta(days=1) if data.get("until") else None,
    )
    return form, rows


@staff_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit, 50 rows a page, newest first; current lock-outs on top."""
    _admin_only(request)
    form, rows = _rows(request)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "staff/access/audit.html", {
        "form": form, "page_obj": page, "query": query.urlencode(),
        "locks": lockout.current_locks(), "nav": "security",
    })  # fmt: skip


class _Echo:
    def write(self, value: str) -> str:
        return value


@staff_required
def audit_csv(request: HttpRequest) -> HttpResponse:
    """The filtered audit as CSV (UTC ISO-8601 times), streamed."""
    _admin_only(request)
    _, rows = _rows(request)
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(["at", "kind", "user", "name_typed", "address", "interface",
                               "detail"])  # fmt: skip
        for row in rows.iterator(chunk_size=500):
            yield writer.writerow([
                row.at.astimezone(UTC).isoformat(), row.kind,
                row.user.get_username() if row.user else "", row.username,
                row.address or "", row.interface, _detail(row.detail),
            ])  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="access-audit.csv"'
    return response


def _detail(detail: dict) -> str:
    return " ".join(f"{k}={v}" for k, v in sorted((detail or {}).items()))


@staff_required
@require_POST
def unlock(request: HttpRequest) -> HttpResponse:
    """Unlock an account or an address now (logged)."""
    _admin_only(request)
    try:
        lockout.unlock(actor=request.user, username=request.POST.get("username", ""),
                       address=request.POST.get("address", ""))  # fmt: skip
    except DomainError as e:
        messages.error(request, e.message)
    else:
        what = request.POST.get("username") or request.POST.get("address")
        messages.success(request, f"Unlocked {what}.")
    return redirect("staff:access_audit")


@staff_required
@require_POST
def reset_factors(request: HttpRequest) -> HttpResponse:
    """Reset a user's second factor (a lost phone): logged, and their
    sessions end."""
    _admin_only(request)
    username = request.POST.get("username", "").strip()
    user = User.objects.filter(username__iexact=username).first() if username else None
    if user is None:
        messages.error(request, f"No user named {username!r}.")
        return redirect("staff:access_audit")
    try:
        mfa.reset_factors(actor=request.user, user=user)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(request, f"The second factor of {user.get_username()} is reset; "
                         "they set up a new one at their next sign-in.")  # fmt: skip
    return redirect("staff:access_audit")
