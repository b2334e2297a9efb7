"""The verified lookup in the portal (lookups.services, lookups.lookup):
verify a domain (a mailed code or a DNS TXT record), list my domains, look
one up. Thin: every rule is the services'.

The lookup's answer page is the same template for every refusal and holds
nothing that depends on whether the asker verified the domain (their
domains are listed on another page), so that "not verified", "not present"
and "lookups off" answer alike."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from disclosure.accounts.audit import request_address
from disclosure.core.errors import DomainError
from disclosure.lookups import lookup as lookups
from disclosure.lookups import selectors, services
from disclosure.lookups.limits import RateLimited

from ..decorators import contact_required


class DomainForm(forms.Form):
    domain = forms.CharField(
        label="Domain", max_length=300, widget=forms.TextInput(attrs={"placeholder": "example.com"})
    )


class AddressForm(DomainForm):
    address = forms.CharField(label="Send the code to", max_length=320)


class CodeForm(DomainForm):
    code = forms.CharField(label="Code from the mail", max_length=20)


def _limited(request: HttpRequest, error: RateLimited) -> HttpResponse:
    response = render(request, "portal/lookup/limited.html", {"error": error, "nav": "lookup"},
                      status=429)  # fmt: skip
    response["Retry-After"] = str(error.retry_after)
    return response


def _refuse(form: forms.Form, error: DomainError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _with_domain(name: str, domain: str) -> str:
    return f"{reverse(name)}?{urlencode({'domain': domain})}"


@contact_required
@require_http_methods(["GET", "POST"])
def lookup_page(request: HttpRequest) -> HttpResponse:
    """GET: the form; POST: the answer (the same page for every refusal)."""
    form, answer, status = DomainForm(), None, 200
    if request.method == "POST":
        form = DomainForm(request.POST)
        if form.is_valid():
            try:
                answer = lookups.lookup(user=request.user, domain=form.cleaned_data["domain"],
                                        client_address=request_address(request),
                                        interface="portal")  # fmt: skip
            except RateLimited as e:
                return _limited(request, e)
            except DomainError as e:
                _refuse(form, e)
        if answer is None:
            status = 400
    return render(request, "portal/lookup/lookup.html",
                  {"form": form, "answer": answer, "nav": "lookup"}, status=status)  # fmt: skip


@contact_required
@require_http_methods(["GET"])
def domains_page(request: HttpRequest) -> HttpResponse:
    """My verified domains and the challenges still pending; start another."""
    return render(request, "portal/lookup/domains.html", {
        "verified": selectors.verified_domains(request.user),
        "pending": selectors.pending_verifications(request.user),
        "form": DomainForm(), "nav": "lookup",
    })  # fmt: skip


@contact_required
@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """GET ?domain=: the ways to verify it (role addresses; the security.txt
    contacts with ?securitytxt=1; DNS). POST: mail a code, or start DNS."""
    data = request.POST if request.method == "POST" else request.GET
    domain_form = DomainForm(data)
    if not domain_form.is_valid():
        return render(request, "portal/lookup/domains.html", {
            "verified": selectors.verified_domains(request.user),
            "pending": selectors.pending_verifications(request.user),
            "form": domain_form, "nav": "lookup",
        }, status=400)  # fmt: skip
    try:
        name = services.normalise_domain(domain_form.cleaned_data["domain"])
    except DomainError as e:
        _refuse(domain_form, e)
        return render(request, "portal/lookup/domains.html", {
            "verified": selectors.verified_domains(request.user),
            "pending": selectors.pending_verifications(request.user),
            "form": domain_form, "nav": "lookup",
        }, status=400)  # fmt: skip
    form, contacts, contacts_error, status = AddressForm(initial={"domain": name}), None, "", 200
    if request.method == "POST" and request.POST.get("method") == "dns":
        try:
            services.start_dns_verification(user=request.user, domain=name)
        except DomainError as e:
            messages.error(request, e.message)
        else:
            return redirect(_with_domain("portal:lookup_dns", name))
    elif request.method == "POST":
        form = AddressForm(request.POST)
        if form.is_valid():
            try:
                services.start_mail_verification(user=request.user, domain=name,
                                                 address=form.cleaned_data["address"])  # fmt: skip
            except RateLimited as e:
                return _limited(request, e)
            except DomainError as e:
                _refuse(form, e)
            else:
                messages.success(
                    request, f"A code is on its way to {form.cleaned_data['address']}."
                )
                return redirect(_with_domain("portal:lookup_code", name))
        status = 400
    elif request.GET.get("securitytxt"):
        try:
            contacts = services.security_txt_contacts(user=request.user, domain=name)
        except RateLimited as e:
            return _limited(request, e)
        except DomainError as e:
            contacts_error = e.message
    return render(request, "portal/lookup/verify.html", {
        "domain": name, "form": form, "roles": [f"{r}@{name}" for r in services.ROLE_MAILBOXES],
        "contacts": contacts, "contacts_error": contacts_error, "nav": "lookup",
    }, status=status)  # fmt: skip


@contact_required
@require_http_methods(["GET", "POST"])
def code_page(request: HttpRequest) -> HttpResponse:
    """Enter the mailed code."""
    if request.method == "GET":
        form = CodeForm(initial={"domain": request.GET.get("domain", "")})
        return render(request, "portal/lookup/code.html", {"form": form, "nav": "lookup"})
    form = CodeForm(request.POST)
    if form.is_valid():
        try:
            row = services.confirm_code(user=request.user, **form.cleaned_data)
        except DomainError as e:
            _refuse(form, e)
        else:
            messages.success(request, f"{row.domain} is verified until {row.valid_until:%Y-%m-%d}.")
            return redirect("portal:lookup_domains")
    return render(request, "portal/lookup/code.html", {"form": form, "nav": "lookup"}, status=400)


@contact_required
@require_http_methods(["GET", "POST"])
def dns_page(request: HttpRequest) -> HttpResponse:
    """The TXT record to publish, and "check now"."""
    data = request.POST if request.method == "POST" else request.GET
    form = DomainForm(data)
    challenge, problem, status = None, "", 200
    if form.is_valid():
        try:
            if request.method == "POST":
                check = services.check_dns(user=request.user, domain=form.cleaned_data["domain"])
                if check.verified:
                    row = check.verification
                    messages.success(
                        request, f"{row.domain} is verified until {row.valid_until:%Y-%m-%d}."
                    )
                    return redirect("portal:lookup_domains")
                problem = check.problem
            challenge = services.dns_challenge(user=request.user,
                                               domain=form.cleaned_data["domain"])  # fmt: skip
        except RateLimited as e:
            return _limited(request, e)
        except DomainError as e:
            _refuse(form, e)
            status = 400
    else:
        status = 400
    return render(request, "portal/lookup/dns.html", {
        "form": form, "challenge": challenge, "problem": problem, "nav": "lookup",
    }, status=status)  # fmt: skip
