"""``{% retention_panel case %}``: how long the case's evidence content is
kept, on the staff case page (nothing for anyone who is not staff)."""

from django import template

from ..selectors import retention_panel as load_panel

register = template.Library()


@register.inclusion_tag("evidence/_retention.html", takes_context=True)
def retention_panel(context: template.Context, case) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    return {"panel": load_panel(user, case) if user is not None else None, "case": case}
