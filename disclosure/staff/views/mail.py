"""Mail to the vendor from the case page (compose, reply) and the editing
of the mail templates. The views call comms.outbound and comms.templates
and nothing else writes.

Compose is the table's ``send_mail`` action: offered (and allowed) exactly
when ``access.available_actions`` lists it; 404 for a case the user may
not see. A template picked (``?template=``) fills the subject and text:
with a page load (without JavaScript), or in place through htmx
(``compose_template`` answers the subject and text fields alone, so that
the recipients and files already chosen stay); a
reply (``?reply=<communication id>``) answers that message, with its
threading headers, to its sender (or, answering our own mail, to its
recipients).
"""

from email.utils import parseaddr

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from disclosure.cases import access, selectors, transitions
from disclosure.comms import templates as mail_templates
from disclosure.comms.addresses import known_addresses
from disclosure.comms.models import Communication, Direction, TemplateKey
from disclosure.comms.outbound import is_first_notice, send_case_mail
from disclosure.core.errors import DomainError, NotFound, NotPermitted

from ..decorators import staff_required
from ..forms.mail import ComposeMailForm, MailTemplateForm

ACTION = "send_mail"

# The compose form's fields a template fills (swapped in place by htmx),
# and the ones before them (recipients) and after them (files, the notice).
TEXT_FIELDS = ("template_key", "found_at_source", "subject", "body")
HEAD_FIELDS = ("in_reply_to", "to", "to_other", "cc", "cc_other")


class FieldGroup:
    """Some of a form's fields, shown by staff/actions/_form_fields.html as
    if they were the whole form (its non-field errors with the first group)."""

    def __init__(self, form, names, *, exclude: bool = False, errors: bool = False) -> None:
        self.form, self.names, self.exclude, self.errors = form, set(names), exclude, errors

    def _ours(self, fields):
        return [f for f in fields if (f.name in self.names) != self.exclude]

    def hidden_fields(self):
        return self._ours(self.form.hidden_fields())

    def visible_fields(self):
        return self._ours(self.form.visible_fields())

    def non_field_errors(self):
        return self.form.non_field_errors() if self.errors else []


def field_groups(form) -> dict:
    """The compose form in three parts: recipients, the text a template
    fills (``text_fields``, the htmx target), the rest."""
    return {
        "head_fields": FieldGroup(form, HEAD_FIELDS, errors=True),
        "text_fields": FieldGroup(form, TEXT_FIELDS),
        "tail_fields": FieldGroup(form, (*HEAD_FIELDS, *TEXT_FIELDS), exclude=True),
    }


def _mail_case(request: HttpRequest, reference: str):
    """The case, if the user may write to its vendor now (404 / 403)."""
    case = selectors.case_by_reference(request.user, reference)
    if case is None:
        raise Http404("No such case.")
    transition = transitions.get(ACTION)
    if transition not in access.available_actions(request.user, case):
        raise PermissionDenied(f"{transition.label} is not available on {case.reference} to you.")
    return case, transition


def _reply_initial(comm: Communication, known: set[str]) -> dict:
    """To whom and about what a reply to ``comm`` goes."""
    if comm.direction == Direction.INBOUND:
        targets = [comm.sender]
    else:
        targets = [r.removeprefix("cc: ") for r in comm.recipients if not r.startswith("cc: ")]
    chosen, other = [], []
    for target in targets:
        address = parseaddr(target)[1].lower()
        if address in known:
            chosen.append(address)
        elif address:
            other.append(target)
    subject = comm.subject or ""
    if subject and not subject.lower().startswith("re:"):
        subject = f"Re: {subject}"
    quoted = "\n".join(f"> {line}" for line in (comm.body or "").splitlines())
    return {
        "to": chosen,
        "to_other": "\n".join(other),
        "subject": subject,
        "body": f"\n\n{quoted}\n" if quoted else "",
        "in_reply_to": comm.pk,
    }


@staff_required
def compose(request: HttpRequest, reference: str) -> HttpResponse:
    case, transition = _mail_case(request, reference)
    reply = None
    reply_id = request.GET.get("reply") or request.POST.get("in_reply_to")
    if reply_id:
        reply = (
            selectors.communications_for(request.user, case)
            .exclude(direction=Direction.INTERNAL)
            .filter(pk=int(reply_id) if str(reply_id).isdigit() else 0)
            .first()
        )
        if reply is None:
            raise Http404("No such message on this case.")
    if request.method == "POST":
        # The template the text came from, as the form says (htmx may have
        # changed it since the page was loaded).
        key = request.POST.get("template_key", "")
        key = key if key in TemplateKey.values else ""
    else:
        key = request.GET.get("template", "")
        if key and key not in TemplateKey.values:
            raise Http404("No such template.")
    if request.method == "POST":
        form = ComposeMailForm(request.POST, request.FILES, case=case, user=request.user)
        if form.is_valid():
            try:
                comm = send_case_mail(actor=request.user, case=case, **form.service_kwargs())
            except NotFound as e:
                raise Http404(e.message) from e
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(
                    request,
                    f"Mail queued for {', '.join(comm.recipients)} ({comm.message_id}).",
                )
                return redirect(
                    reverse("staff:case_tab", kwargs={"reference": case.reference,
                                                      "tab": "communications"})
                    + f"#communication-{comm.pk}"
                )  # fmt: skip
        status = 400
    else:
        known = {k.address for k in known_addresses(case.vendor)}
        initial: dict = {"template_key": key}
        if reply is not None:
            initial.update(_reply_initial(reply, known))
        elif key:
            rendered = mail_templates.render_template(key, case, request.user)
            initial.update(subject=rendered.subject, body=rendered.body)
        if not initial.get("to"):
            initial["to"] = sorted(known)[:1] if len(known) == 1 else []
        if key == TemplateKey.FIRST_NOTICE or (reply is None and case.vendor_notified_at is None):
            initial.setdefault("record_notified", True)
        form = ComposeMailForm(case=case, user=request.user, initial=initial)
        status = 200
    return render(
        request,
        "staff/mail/compose.html",
        {
            "case": case,
            "transition": transition,
            "form": form,
            "reply": reply,
            "template_key": key,
            "templates": TemplateKey.choices,
            "first_notice": is_first_notice(case, key),
            "nav": "cases",
            **field_groups(form),
        },
        status=status,
    )


@staff_required
@require_GET
def compose_template(request: HttpRequest, reference: str) -> HttpResponse:
    """The subject and text fields filled from ``?template=`` (htmx swaps
    them into the compose page; nothing else there changes). 204 for no
    template (what was typed stays); 404 for an unknown one or a case the
    user may not see; 403 when the user may not write to its vendor."""
    case, _ = _mail_case(request, reference)
    key = request.GET.get("template", "")
    if not key:
        return HttpResponse(status=204)
    if key not in TemplateKey.values:
        raise Http404("No such template.")
    rendered = mail_templates.render_template(key, case, request.user)
    form = ComposeMailForm(
        case=case,
        user=request.user,
        initial={"template_key": key, "subject": rendered.subject, "body": rendered.body},
    )
    return render(
        request,
        "staff/mail/_template_fields.html",
        {"case": case, "text_fields": field_groups(form)["text_fields"]},
    )


@staff_required
def template_list(request: HttpRequest) -> HttpResponse:
    """The five templates; leads and admins get edit links."""
    return render(
        request,
        "staff/mail/templates.html",
        {
            "templates": mail_templates.all_templates(),
            "can_edit": mail_templates.can_edit_templates(request.user),
            "nav": "mail_templates",
        },
    )


def _editable(request: HttpRequest, key: str):
    if key not in TemplateKey.values:
        raise Http404("No such template.")
    if not mail_templates.can_edit_templates(request.user):
        raise PermissionDenied("Only leads and admins may edit the mail templates.")
    return mail_templates.get_template(key)


@staff_required
def template_edit(request: HttpRequest, key: str) -> HttpResponse:
    template = _editable(request, key)
    if request.method == "POST":
        form = MailTemplateForm(request.POST)
        if form.is_valid():
            try:
                mail_templates.edit_mail_template(actor=request.user, key=key, **form.cleaned_data)
            except NotPermitted as e:
                raise PermissionDenied(e.message) from e
            except DomainError as e:
                form.add_domain_error(e)
            else:
                messages.success(request, f"Template '{template.label}' saved.")
                return redirect("staff:mail_templates")
        status = 400
    else:
        form = MailTemplateForm(initial={"subject": template.subject, "body": template.body})
        status = 200
    return render(
        request,
        "staff/mail/template_edit.html",
        {"template": template, "form": form, "nav": "mail_templates"},
        status=status,
    )


@staff_required
@require_POST
def template_reset(request: HttpRequest, key: str) -> HttpResponse:
    template = _editable(request, key)
    try:
        mail_templates.reset_mail_template(actor=request.user, key=key)
    except NotPermitted as e:
        raise PermissionDenied(e.message) from e
    messages.success(request, f"Template '{template.label}' is back to its default.")
    return redirect("staff:mail_templates")
