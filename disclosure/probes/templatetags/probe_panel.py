"""``{% probe_panel case %}``: the re-probe panel on the staff case page
(nothing for anyone who is not staff, nor where the re-probe pages are not
routed: a URL configuration without ``disclosure.probes.urls``)."""

from django import template
from django.urls import NoReverseMatch, reverse

from ..selectors import probe_panel as load_panel

register = template.Library()


@register.inclusion_tag("probes/_panel.html", takes_context=True)
def probe_panel(context: template.Context, case) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    try:
        reverse("probes:history", args=[case.reference])
    except NoReverseMatch:
        user = None
    return {
        "panel": load_panel(user, case) if user is not None else None,
        "case": case,
        "csrf_token": context.get("csrf_token"),
        "request": request,
    }
