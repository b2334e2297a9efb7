"""The vendor's view of a case's affected entities: the counts at every
level it may see (cases.visibility.VENDOR_AFFECTED_LEVELS) with their
methods and both parties' claims, and filing the vendor's own count
(affected.claims.file_count_claim). Only the case's vendor contacts; a case
they may not see is 404."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from disclosure.affected import claims, selectors
from disclosure.affected.models import Level
from disclosure.cases import access
from disclosure.cases.visibility import VENDOR_AFFECTED_LEVELS
from disclosure.core.errors import DomainError, NotFound, NotPermitted

from ..decorators import contact_required
from .cases import contact_case_or_404


class VendorClaimForm(forms.Form):
    level = forms.ChoiceField(
        label="Level", choices=[c for c in Level.choices if c[0] in VENDOR_AFFECTED_LEVELS]
    )
    count = forms.IntegerField(label="Your count", min_value=0)
    method = forms.CharField(label="How you counted", max_length=2000)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


@contact_required
def affected_page(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the counts and claims (an htmx request gets the table alone);
    POST: file the vendor's count at a level."""
    case = contact_case_or_404(request, reference)
    form = VendorClaimForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                claims.file_count_claim(actor=request.user, case=case, **form.cleaned_data)
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_error(None, e.message)
            else:
                messages.success(request, "Your count is filed.")
                return redirect(reverse("portal:case_affected", args=[case.reference]))
        status = 400
    context = {
        "case": case,
        "counts": selectors.counts_for(request.user, case),
        "form": form,
        "may_claim": access.can(request.user, claims.ACTION, case),
    }
    template = "portal/affected/_counts.html" if request.htmx else "portal/affected/page.html"
    return render(request, template, context, status=status)
