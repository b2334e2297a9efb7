"""Creating and editing vendor organizations in the staff UI (leads and
admins; accounts.vendors): name, domains, security contact addresses and
time zone, one per line for the lists, and whether mail to its contacts
may quote the case's content."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from disclosure.accounts import vendors
from disclosure.accounts.models import Organization
from disclosure.core.errors import DomainError

from ..decorators import staff_required
from ..forms.base import StaffForm, lines, time_zone_names


class VendorForm(StaffForm):
    name = forms.CharField(label="Name", max_length=200)
    domains = forms.CharField(
        label="Domains", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, e.g. contoso.com; the first is the main one.",
    )  # fmt: skip
    security_contacts = forms.CharField(
        label="Security contact addresses", required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One e-mail address per line (e.g. security@contoso.com).",
    )  # fmt: skip
    time_zone = forms.ChoiceField(label="Time zone", initial="UTC")
    mail_includes_content = forms.BooleanField(
        label="Mail to its contacts may quote the case's content", required=False,
        help_text="Off: notices say what happened and link to the portal, without message "
        "text, notes, file names or figures.",
    )  # fmt: skip

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in time_zone_names()]

    def values(self) -> dict:
        d = self.cleaned_data
        return {
            "name": d["name"],
            "domains": lines(d["domains"]),
            "security_contacts": lines(d["security_contacts"]),
            "time_zone": d["time_zone"],
            "mail_includes_content": d["mail_includes_content"],
        }


def _require_manager(request: HttpRequest) -> None:
    if not vendors.can_manage_vendors(request.user):
        raise PermissionDenied("Only leads and admins create and edit vendor organizations.")


def _form_page(request, form, org=None, status=200) -> HttpResponse:
    return render(
        request,
        "staff/organizations/form.html",
        {"form": form, "organization": org, "nav": "orgs"},
        status=status,
    )


@staff_required
def organization_new(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    if request.method != "POST":
        return _form_page(request, VendorForm())
    form = VendorForm(request.POST)
    if form.is_valid():
        try:
            org = vendors.create_vendor(actor=request.user, **form.values())
        except DomainError as e:
            form.add_domain_error(e)
        else:
            messages.success(request, f"Vendor {org.name} created.")
            return redirect("staff:organization_detail", pk=org.pk)
    return _form_page(request, form, status=400)


@staff_required
def organization_edit(request: HttpRequest, pk: int) -> HttpResponse:
    org = get_object_or_404(Organization, pk=pk, kind=Organization.Kind.VENDOR)
    _require_manager(request)
    if request.method != "POST":
        initial = {
            "name": org.name,
            "domains": "\n".join(org.domains),
            "security_contacts": "\n".join(org.security_contacts),
            "time_zone": org.time_zone,
            "mail_includes_content": org.mail_includes_content,
        }
        return _form_page(request, VendorForm(initial=initial), org)
    form = VendorForm(request.POST)
    if form.is_valid():
        try:
            vendors.update_vendor(actor=request.user, organization=org, changes=form.values())
        except DomainError as e:
            form.add_domain_error(e)
        else:
            messages.success(request, f"Vendor {form.values()['name']} saved.")
            return redirect("staff:organization_detail", pk=org.pk)
    return _form_page(request, form, org, status=400)
