"""The editable templates of mail to a vendor, and their safe renderer.

Five templates (``TemplateKey``): the defaults live here, in code; a
``MailTemplate`` row exists only once a lead or an admin edited one
(``edit_mail_template``), and deleting it (``reset_mail_template``) brings
the default back.

A template is text with ``{{ placeholder }}`` marks. Rendering replaces each
mark by a value from a fixed dictionary of strings built from the case
(``placeholders``): there is no template language, no attribute access and
no expression, so a template can never reach anything but these values. A
mark naming anything else is refused when the template is saved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.urls import NoReverseMatch, reverse

from disclosure.accounts.models import Organization, Role, User
from disclosure.accounts.selectors import principal_for
from disclosure.cases.models import Case
from disclosure.core.errors import NotPermitted, ValidationFailed
from disclosure.core.formatting import case_time_text
from disclosure.core.validation import clean_text, validated

from .models import MailTemplate, TemplateKey

# Any ``{{ ... }}``: what is inside must be a known placeholder name.
MARK = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)

# The placeholders a template may use, with what each gives (for the editor).
PLACEHOLDERS: dict[str, str] = {
    "case.reference": "The case's reference (e.g. DISC-2026-0001)",
    "case.title": "The case's title",
    "case.asset": "The exposed asset (URL or identifier)",
    "case.asset_kind": "The kind of asset (e.g. S3 bucket)",
    "case.asset_provider": "Where the asset is hosted (e.g. Amazon Web Services)",
    "case.found_date": "When the exposure was found, in the case's time zone",
    "case.data_categories": "The categories of exposed data",
    "case.publication_url": "The advisory's URL (once published)",
    "case.publication_title": "The advisory's title (once published)",
    "policy.days_to_acknowledge": "Days the vendor has to acknowledge",
    "policy.days_to_secure": "Days the vendor has to secure the asset",
    "policy.days_to_publish": "Days until publication",
    "vendor.name": "The vendor's name",
    "firm.name": "The research firm's name",
    "portal.link": "The case in the vendor portal",
    "reply.address": "The address replies go to (leads back to the case)",
    "sender.name": "The name of the staff member who sends the mail",
}

_SIGNATURE = """
Kind regards,
{{ sender.name }}
{{ firm.name }}

Please keep {{ case.reference }} in the subject line when you reply; replies
to this message reach our case file directly ({{ reply.address }}).
"""


@dataclass(frozen=True)
class Template:
    key: str
    label: str
    subject: str
    body: str
    edited: bool  # a lead or admin changed the default
    updated_by: str = ""


DEFAULTS: dict[str, tuple[str, str]] = {
    TemplateKey.FIRST_NOTICE: (
        "Exposed data of {{ vendor.name }}: {{ case.title }}",
        """Hello {{ vendor.name }} security team,

we are security researchers at {{ firm.name }}. While researching publicly
reachable storage we found an asset that appears to belong to you and that
anyone on the internet can read without authentication:

  Asset:      {{ case.asset }} ({{ case.asset_kind }}, {{ case.asset_provider }})
  Found:      {{ case.found_date }}
  Data:       {{ case.data_categories }}

We have not shared this finding with anyone else. We kept only what was
needed to confirm the exposure and to identify you as its owner; we will
delete our copies once the asset is secured, and we can give you an
attestation of that deletion.

We follow coordinated disclosure. We ask you to
  1. acknowledge this message within {{ policy.days_to_acknowledge }} days,
  2. restrict access to the asset within {{ policy.days_to_secure }} days, and
  3. tell us when it is secured, so that we can verify it.
We intend to publish an advisory about this exposure after
{{ policy.days_to_publish }} days, or earlier once it is resolved, without
any personal data; we will tell you before we do.

You can follow the case and reply securely in our vendor portal:
{{ portal.link }}
"""
        + _SIGNATURE,
    ),
    TemplateKey.FOLLOW_UP: (
        "Follow-up: {{ case.title }}",
        """Hello {{ vendor.name }} security team,

we wrote to you about an exposed asset of yours that anyone on the internet
can read:

  Asset:      {{ case.asset }}
  Found:      {{ case.found_date }}

We have not yet heard whether it is being handled. Could you confirm that
you received our notice and tell us who is looking into it? If this message
should go to someone else, please forward it or tell us whom to contact.

Case in the vendor portal: {{ portal.link }}
"""
        + _SIGNATURE,
    ),
    TemplateKey.CONFIRM_SECURED: (
        "Please confirm the asset is secured: {{ case.title }}",
        """Hello {{ vendor.name }} security team,

thank you for your work on this case. Could you confirm that the asset

  {{ case.asset }}

is no longer publicly reachable, and tell us when access was restricted?
If you know whether anyone else accessed the data while it was exposed,
please tell us as well.

Once you confirm, we will verify that the asset is closed, delete our
copies of the data and send you an attestation of the deletion.

You can confirm in the vendor portal: {{ portal.link }}
"""
        + _SIGNATURE,
    ),
    TemplateKey.DELETION_NOTICE: (
        "Our copies are deleted: {{ case.title }}",
        """Hello {{ vendor.name }} security team,

we have deleted every copy we kept of the data exposed at

  {{ case.asset }}

The deletion attestation (what was deleted, how, by whom and when, and any
metadata we keep, with the reason) is in the vendor portal, where you can
countersign it:

  {{ portal.link }}
"""
        + _SIGNATURE,
    ),
    TemplateKey.PUBLICATION_NOTICE: (
        "Advisory published: {{ case.title }}",
        """Hello {{ vendor.name }} security team,

as announced, we have published our advisory about the exposure of

  {{ case.asset }}

  {{ case.publication_title }}
  {{ case.publication_url }}

It contains no personal data. Thank you for your cooperation in this case;
if you would like to add a statement, please reply to this message.

Case in the vendor portal: {{ portal.link }}
"""
        + _SIGNATURE,
    ),
}
assert set(DEFAULTS) == set(TemplateKey.values)


def _key(key: str) -> TemplateKey:
    if key not in TemplateKey.values:
        raise ValidationFailed(f"Unknown mail template {key!r}.", field="key")
    return TemplateKey(key)


def get_template(key: str) -> Template:
    """Template ``key`` as it is now: the edited row, else the default."""
    key = _key(key)
    row = MailTemplate.objects.filter(key=key).select_related("updated_by").first()
    return _template(key, row)


def all_templates() -> list[Template]:
    """The five templates in ``TemplateKey`` order (one query)."""
    rows = {r.key: r for r in MailTemplate.objects.select_related("updated_by")}
    return [_template(TemplateKey(k), rows.get(k)) for k in TemplateKey.values]


def _template(key: TemplateKey, row: MailTemplate | None) -> Template:
    if row is None:
        subject, body = DEFAULTS[key]
        return Template(key=key, label=key.label, subject=subject, body=body, edited=False)
    by = row.updated_by
    return Template(
        key=key,
        label=key.label,
        subject=row.subject,
        body=row.body,
        edited=True,
        updated_by=(by.get_full_name() or by.get_username()) if by else "",
    )


def check_placeholders(text: str, *, field: str) -> None:
    """Raise ValidationFailed naming every ``{{ mark }}`` of ``text`` that is
    not a known placeholder (and an unclosed ``{{``)."""
    unknown = []
    for match in MARK.finditer(text):
        name = match.group(1).strip()
        if name not in PLACEHOLDERS:
            unknown.append("{{" + match.group(1) + "}}")
    rest = MARK.sub("", text)
    if "{{" in rest:
        raise ValidationFailed(
            "A placeholder is not closed: write {{ name }} with both braces.", field=field
        )
    if unknown:
        known = ", ".join(PLACEHOLDERS)
        raise ValidationFailed(
            f"Unknown placeholder{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(dict.fromkeys(unknown))}. Known placeholders: {known}.",
            field=field,
        )


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each known ``{{ mark }}`` replaced by its value; a mark
    naming nothing in ``values`` stays as written (saved templates are
    checked, so only a default could have one)."""

    def replace(match: re.Match) -> str:
        name = match.group(1).strip()
        return values.get(name, match.group(0))

    return MARK.sub(replace, text)


def portal_link(case: Case) -> str:
    """The case in the vendor portal, as an absolute URL."""
    try:
        path = reverse("portal:case_detail", kwargs={"reference": case.reference})
    except NoReverseMatch:  # pragma: no cover - the portal is always mounted
        path = f"/portal/cases/{case.reference}/"
    return settings.DISCLOSURE_SITE_URL.rstrip("/") + path


def reply_address(case: Case) -> str:
    """The address replies to mail about ``case`` go to."""
    return settings.DISCLOSURE_REPLY_ADDRESS.format(reference=case.reference)


def placeholders(case: Case, sender=None) -> dict[str, str]:
    """The values of every placeholder for ``case`` (all strings), mail sent
    by ``sender``."""

    def days(value) -> str:
        return str(value) if value is not None else "—"

    firm = Organization.objects.filter(kind=Organization.Kind.FIRM).values_list("name", flat=True)
    sender_name = ""
    if sender is not None and getattr(sender, "is_authenticated", False):
        sender_name = sender.get_full_name() or sender.get_username()
    return {
        "case.reference": case.reference,
        "case.title": case.title,
        "case.asset": case.asset_identifier,
        "case.asset_kind": case.get_asset_kind_display(),
        "case.asset_provider": case.get_asset_provider_display(),
        "case.found_date": case_time_text(case.found_at, case.time_zone),
        "case.data_categories": case.get_data_categories_display() or "not yet assessed",
        "case.publication_url": case.publication_url,
        "case.publication_title": case.publication_title,
        "policy.days_to_acknowledge": days(case.terms_days_to_acknowledge),
        "policy.days_to_secure": days(case.terms_days_to_secure),
        "policy.days_to_publish": days(case.terms_days_to_publish),
        "vendor.name": case.vendor.name,
        "firm.name": firm.first() or "",
        "portal.link": portal_link(case),
        "reply.address": reply_address(case),
        "sender.name": sender_name,
    }


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    body: str


def render_template(key: str, case: Case, sender=None) -> RenderedMail:
    """Template ``key`` filled with ``case``'s values (for the compose form)."""
    template = get_template(key)
    values = placeholders(case, sender)
    subject = " ".join(fill(template.subject, values).split())
    return RenderedMail(subject=subject, body=fill(template.body, values))


def can_edit_templates(user) -> bool:
    """Whether ``user`` may edit the mail templates: leads and admins."""
    return principal_for(user).staff_role in (Role.LEAD, Role.ADMIN)


def _require_editor(actor) -> None:
    if not can_edit_templates(actor):
        raise NotPermitted("Only leads and admins may edit the mail templates.")


@validated
def edit_mail_template(*, actor: User, key: str, subject: str, body: str) -> Template:
    """Save template ``key`` (leads and admins; NotPermitted otherwise).

    Guarantees: the subject is one line that fits, the body is not empty,
    and every ``{{ mark }}`` of both is a known placeholder
    (ValidationFailed naming the unknown ones); nothing is saved otherwise.
    """
    _require_editor(actor)
    key = _key(key)
    subject = clean_text(
        subject, model=MailTemplate, field="subject", required=True, message="Give a subject."
    )
    if "\n" in subject or "\r" in subject:
        raise ValidationFailed("The subject is one line.", field="subject")
    body = clean_text(body, field="body", required=True, message="Give the mail's text.")
    check_placeholders(subject, field="subject")
    check_placeholders(body, field="body")
    MailTemplate.objects.update_or_create(
        key=key, defaults={"subject": subject, "body": body, "updated_by": actor}
    )
    return get_template(key)


@validated
def reset_mail_template(*, actor: User, key: str) -> Template:
    """Bring back template ``key``'s default (leads and admins; NotPermitted
    otherwise): the edited row is removed."""
    _require_editor(actor)
    key = _key(key)
    MailTemplate.objects.filter(key=key).delete()
    return get_template(key)
