"""The Exports section of the case page, for users who may export the case."""

from django import template

from disclosure.cases import access

from ..views.exports import ExportRequestForm, exports_context

register = template.Library()
RECENT = 5


@register.inclusion_tag("staff/exports/_section.html", takes_context=True)
def case_exports_section(context, case) -> dict:
    """The request form and the newest exports of ``case`` when the user
    may export it (``access.Action.EXPORT``); nothing otherwise."""
    user = context["user"]
    if not access.can(user, access.Action.EXPORT, case):
        return {"show": False}
    return {
        "show": True,
        "form": ExportRequestForm(),
        "csrf_token": context.get("csrf_token"),
        "request": context.get("request"),
        **exports_context(user, case, limit=RECENT),
    }


@register.simple_tag(takes_context=True)
def may_export(context, case) -> bool:
    """Whether the user may export ``case`` (``access.Action.EXPORT``)."""
    return access.can(context["user"], access.Action.EXPORT, case)
