"""The webhook pages (admins only): subscriptions (list, new, edit,
disable or enable), the delivery log with filters and pages, one delivery
with its body, and "redeliver". The views call webhooks.services and
webhooks.selectors; linked from the API tokens page (no top-level entry).

Anonymous users go to sign-in and non-staff get a 404 (``staff_required``);
staff who are not admins get a 403."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from disclosure.core.errors import DomainError, NotPermitted
from disclosure.webhooks import selectors, services
from disclosure.webhooks.models import WebhookDelivery, WebhookSubscription

from ..decorators import staff_required
from ..forms.webhooks import DeliveryFilterForm, SubscriptionForm

NAV = "tokens"  # the page that links here


def _admin_only(request: HttpRequest) -> None:
    if not services.may_manage(request.user):
        raise PermissionDenied("Only admins may manage webhooks.")


def _subscription(pk: int) -> WebhookSubscription:
    try:
        return selectors.subscription(pk)
    except WebhookSubscription.DoesNotExist as e:
        raise Http404("No such subscription.") from e


def _delivery(pk: int) -> WebhookDelivery:
    try:
        return selectors.delivery(pk)
    except WebhookDelivery.DoesNotExist as e:
        raise Http404("No such delivery.") from e


@staff_required
def subscription_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    return render(
        request,
        "staff/webhooks/list.html",
        {"subscriptions": selectors.subscriptions(), "nav": NAV},
    )


def _save(request: HttpRequest, sub: WebhookSubscription | None) -> HttpResponse:
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            values = {
                "name": data["name"],
                "url": data["url"],
                "secret": data["secret"],
                "event_kinds": data["event_kinds"],
                "vendors": list(data["vendors"]),
                "cases": data["cases"],
                "internal": data["internal"],
            }
            try:
                if sub is None:
                    sub = services.create_subscription(actor=request.user, **values)
                else:
                    sub = services.update_subscription(
                        actor=request.user, subscription=sub, active=data["active"], **values
                    )
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(request, f"Subscription '{sub.name}' saved.")
                return redirect("staff:webhook_edit", pk=sub.pk)
        status = 400
    else:
        form = SubscriptionForm(initial=SubscriptionForm.initial_for(sub) if sub else None)
        status = 200
    return render(
        request,
        "staff/webhooks/edit.html",
        {"form": form, "subscription": sub, "nav": NAV},
        status=status,
    )


@staff_required
def subscription_new(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    return _save(request, None)


@never_cache  # the page shows the signing secret
@staff_required
def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    return _save(request, _subscription(pk))


@staff_required
@require_POST
def subscription_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    sub = _subscription(pk)
    sub = services.set_subscription_active(
        actor=request.user, subscription=sub, active=not sub.active
    )
    state = "enabled" if sub.active else "disabled"
    messages.success(request, f"Subscription '{sub.name}' {state}.")
    return redirect("staff:webhook_list")


@staff_required
def delivery_list(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    filters = DeliveryFilterForm(request.GET or None)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    rows = selectors.deliveries(
        subscription_id=chosen["subscription"].pk if chosen.get("subscription") else None,
        status=chosen.get("status", ""),
        case_reference=chosen.get("case", ""),
        event_kind=chosen.get("kind", ""),
    )
    page = Paginator(rows, selectors.DELIVERIES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "staff/webhooks/deliveries.html",
        {"filters": filters, "page": page, "nav": NAV},
    )


@staff_required
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    row = _delivery(pk)
    return render(
        request,
        "staff/webhooks/delivery.html",
        {
            "delivery": row,
            "body": bytes(row.body).decode("utf-8", "replace"),
            "redeliveries": selectors.redeliveries(row),
            "nav": NAV,
        },
    )


@staff_required
@require_POST
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    row = _delivery(pk)
    try:
        new = services.redeliver(actor=request.user, delivery=row)
    except NotPermitted as e:
        raise PermissionDenied(e.message) from e
    except DomainError as e:
        messages.error(request, e.message)
        return redirect("staff:webhook_delivery", pk=row.pk)
    messages.success(request, f"Queued again as delivery {new.delivery_id}.")
    return redirect("staff:webhook_delivery", pk=new.pk)
