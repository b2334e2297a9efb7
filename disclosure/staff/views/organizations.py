"""Vendor organizations in the staff UI: their contacts, invitations and
the history of both; invite, re-send and deactivate (staff who manage
contacts; legal reads)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from disclosure.accounts import contacts, invitations, vendors
from disclosure.accounts.models import Invitation, Organization
from disclosure.cases import access
from disclosure.core.errors import DomainError
from disclosure.core.timeutils import now

from ..decorators import staff_required


class InviteForm(forms.Form):
    email = forms.EmailField(label="E-mail address of the contact", max_length=254)


def _vendor_or_404(pk: int) -> Organization:
    return get_object_or_404(Organization, pk=pk, kind=Organization.Kind.VENDOR)


def _link_template(request: HttpRequest) -> str:
    marker = "TOKEN"
    url = request.build_absolute_uri(reverse("portal:accept_invitation", args=[marker]))
    return url.replace(marker, "{token}")


def _require_manager(request: HttpRequest) -> None:
    if not access.can_manage_contacts(request.user):
        raise PermissionDenied("Only analysts, leads and admins manage vendor contacts.")


@staff_required
def organization_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "staff/organizations/list.html",
        {
            "organizations": list(contacts.vendor_organizations_with_counts()),
            "can_manage_vendors": vendors.can_manage_vendors(request.user),
            "nav": "orgs",
        },
    )


def _detail(request: HttpRequest, org: Organization, form: InviteForm, status: int = 200):
    at = now()
    invites = contacts.invitations_of(org)
    latest: set[int] = set()
    seen: set[str] = set()
    for inv in invites:  # newest first: the first per address is the one to re-send
        if inv.email not in seen:
            seen.add(inv.email)
            if inv.accepted_at is None:
                latest.add(inv.pk)
    return render(
        request,
        "staff/organizations/detail.html",
        {
            "organization": org,
            "contacts": list(contacts.contacts_of(org)),
            "invitations": [(inv, inv.state(at), inv.pk in latest) for inv in invites],
            "history": contacts.history_of(org),
            "form": form,
            "can_manage": access.can_manage_contacts(request.user),
            "can_manage_vendors": vendors.can_manage_vendors(request.user),
            "max_age_days": invitations.max_age().days,
            "nav": "orgs",
        },
        status=status,
    )


@staff_required
def organization_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail(request, _vendor_or_404(pk), InviteForm())


@staff_required
@require_POST
def invite(request: HttpRequest, pk: int) -> HttpResponse:
    org = _vendor_or_404(pk)
    _require_manager(request)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            sent = invitations.invite_contact(
                actor=request.user,
                organization=org,
                email=form.cleaned_data["email"],
                link_template=_link_template(request),
            )
        except DomainError as e:
            form.add_error("email", e.message)
        else:
            messages.success(
                request,
                f"Invitation sent to {sent.invitation.email}; the link works once, until "
                f"{sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC.",
            )
            return redirect("staff:organization_detail", pk=org.pk)
    return _detail(request, org, form, status=400)


@staff_required
@require_POST
def resend(request: HttpRequest, pk: int, invitation_id: int) -> HttpResponse:
    org = _vendor_or_404(pk)
    _require_manager(request)
    invitation = get_object_or_404(Invitation, pk=invitation_id, organization=org)
    try:
        sent = invitations.resend_invitation(
            actor=request.user, invitation=invitation, link_template=_link_template(request)
        )
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request, f"A new invitation went to {sent.invitation.email}; the old link is void."
        )
    return redirect("staff:organization_detail", pk=org.pk)


@staff_required
@require_POST
def deactivate(request: HttpRequest, pk: int, user_id: int) -> HttpResponse:
    org = _vendor_or_404(pk)
    _require_manager(request)
    contact = get_object_or_404(contacts.contacts_of(org), pk=user_id)
    try:
        invitations.deactivate_contact(actor=request.user, organization=org, contact=contact)
    except DomainError as e:
        messages.error(request, e.message)
    else:
        messages.success(
            request,
            f"{contact.display_name()} can no longer reach {org.name}'s cases; "
            "their sessions are ended.",
        )
    return redirect("staff:organization_detail", pk=org.pk)
