"""A case's affected entities in the staff UI: counts at every level with
their methods and both parties' claims, imports (upload, progress, bad
lines), minimisation, the lookup switch, grouping domains into organizations, telling them.

Every write goes through an affected service; the import runs as a Celery
task (eager by default) whose progress the imports list polls. A case the
user may not see is 404; an action their role may not take is 403."""

from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from disclosure.affected import claims, grouping, importing, selectors
from disclosure.affected.models import AffectedImport, AffectedOrganization, Level
from disclosure.affected.tasks import run_import
from disclosure.cases import access
from disclosure.cases import selectors as case_selectors
from disclosure.cases.models import Case
from disclosure.core.errors import DomainError, NotFound, NotPermitted

from ..decorators import staff_required


class ImportForm(forms.Form):
    file = forms.FileField(label="File")
    format = forms.ChoiceField(label="Format", choices=AffectedImport.Format.choices)


class MinimiseForm(forms.Form):
    minimise_emails = forms.BooleanField(
        label="Keep only a keyed hash of e-mail addresses", required=False
    )


class LookupsForm(forms.Form):
    lookups_enabled = forms.BooleanField(
        label="Verified organizations may look up their domains in this case", required=False
    )


class GroupForm(forms.Form):
    name = forms.CharField(label="Organization", max_length=300)
    domains = forms.CharField(
        label="Registrable domains, one a line", widget=forms.Textarea(attrs={"rows": 3})
    )


class ClaimForm(forms.Form):
    level = forms.ChoiceField(label="Level", choices=Level.choices)
    count = forms.IntegerField(label="Count", min_value=0)
    method = forms.CharField(label="Method", max_length=2000)
    note = forms.CharField(label="Note", required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ToldForm(forms.Form):
    how = forms.ChoiceField(label="How", choices=[(h, h) for h in grouping.TOLD_HOW])
    note = forms.CharField(label="Note", required=False)


def _case(request: HttpRequest, reference: str) -> Case:
    case = case_selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    return case


def _page_url(case: Case) -> str:
    return reverse("staff:case_affected", args=[case.reference])


def _context(request: HttpRequest, case: Case, **forms_: Any) -> dict[str, Any]:
    imports = list(selectors.imports_for(case)[:20])
    counts = selectors.counts_for(request.user, case)
    minimise = MinimiseForm(initial={"minimise_emails": counts.minimise_emails})
    row = selectors.affected_list(case)
    lookups = LookupsForm(initial={"lookups_enabled": row.lookups_enabled if row else True})
    return {
        "case": case,
        "counts": counts,
        "imports": imports,
        "imports_pending": any(not b.finished for b in imports),
        "organizations": list(selectors.organizations_for(case)),
        "top_domains": selectors.top_domains(case),
        "may_edit": access.can(request.user, importing.ACTION, case),
        "may_claim": access.can(request.user, claims.ACTION, case),
        "import_form": forms_.get("import_form") or ImportForm(),
        "minimise_form": forms_.get("minimise_form") or minimise,
        "lookups_form": forms_.get("lookups_form") or lookups,
        "group_form": forms_.get("group_form") or GroupForm(),
        "claim_form": forms_.get("claim_form") or ClaimForm(),
        "told_form": forms_.get("told_form") or ToldForm(),
    }


@staff_required
def affected_page(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the case's affected entities page."""
    case = _case(request, reference)
    return render(request, "staff/affected/page.html", _context(request, case))


@staff_required
def affected_summary(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the counts table alone (loaded into the case page)."""
    case = _case(request, reference)
    context = {"case": case, "counts": selectors.counts_for(request.user, case)}
    return render(request, "staff/affected/_counts.html", context)


@staff_required
def affected_imports(request: HttpRequest, reference: str) -> HttpResponse:
    """GET: the imports list alone (polled while an import runs)."""
    case = _case(request, reference)
    imports = list(selectors.imports_for(case)[:20])
    context = {"case": case, "imports": imports,
               "imports_pending": any(not b.finished for b in imports)}  # fmt: skip
    return render(request, "staff/affected/_imports.html", context)


def _run(request: HttpRequest, case: Case, form: forms.Form, call, done: str, key: str):
    """Run ``call`` with the valid form's data; a domain error becomes a form
    error (400), NotFound a 404, NotPermitted a 403."""
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except NotFound as e:
            raise Http404(e.message) from e
        except NotPermitted as e:
            raise PermissionDenied(e.message) from e
        except DomainError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, done)
            return redirect(_page_url(case))
    context = _context(request, case, **{key: form})
    return render(request, "staff/affected/page.html", context, status=400)


@staff_required
@require_POST
def affected_import(request: HttpRequest, reference: str) -> HttpResponse:
    """POST: upload a file and start its import (runs as a task)."""
    case = _case(request, reference)
    form = ImportForm(request.POST, request.FILES)

    def call(d):
        batch = importing.start_import(
            actor=request.user, case=case, file=d["file"], filename=d["file"].name,
            format=d["format"],
        )  # fmt: skip
        run_import.delay(batch.pk)

    return _run(request, case, form, call, "The import has started.", "import_form")


@staff_required
@require_POST
def affected_minimise(request: HttpRequest, reference: str) -> HttpResponse:
    """POST: turn e-mail minimisation on or off."""
    case = _case(request, reference)
    form = MinimiseForm(request.POST)

    def call(d):
        grouping.set_minimisation(
            actor=request.user, case=case, minimise_emails=d["minimise_emails"]
        )

    return _run(request, case, form, call, "Minimisation saved.", "minimise_form")


@staff_required
@require_POST
def affected_lookups(request: HttpRequest, reference: str) -> HttpResponse:
    """POST: turn the verified lookup of the case's list on or off."""
    case = _case(request, reference)
    form = LookupsForm(request.POST)

    def call(d):
        grouping.set_lookups_enabled(actor=request.user, case=case, enabled=d["lookups_enabled"])

    return _run(request, case, form, call, "Lookup switch saved.", "lookups_form")


@staff_required
@require_POST
def affected_group(request: HttpRequest, reference: str) -> HttpResponse:
    """POST: group registrable domains into an organization."""
    case = _case(request, reference)
    form = GroupForm(request.POST)

    def call(d):
        grouping.group_domains(
            actor=request.user, case=case, name=d["name"], domains=d["domains"].split()
        )

    return _run(request, case, form, call, "Domains grouped.", "group_form")


@staff_required
@require_POST
def affected_claim(request: HttpRequest, reference: str) -> HttpResponse:
    """POST: file the firm's count claim at a level."""
    case = _case(request, reference)
    form = ClaimForm(request.POST)

    def call(d):
        claims.file_count_claim(
            actor=request.user, case=case, level=d["level"], count=d["count"],
            method=d["method"], note=d["note"],
        )  # fmt: skip

    return _run(request, case, form, call, "Count claim filed.", "claim_form")


@staff_required
@require_POST
def affected_told(request: HttpRequest, reference: str, org_id: int) -> HttpResponse:
    """POST: mark an organization as told."""
    case = _case(request, reference)
    org = AffectedOrganization.objects.filter(pk=org_id, case=case).first()
    if org is None:
        raise Http404("No such organization.")
    form = ToldForm(request.POST)

    def call(d):
        grouping.mark_told(
            actor=request.user, case=case, organization=org, how=d["how"], note=d["note"]
        )

    return _run(request, case, form, call, f"{org.name} marked as told.", "told_form")
