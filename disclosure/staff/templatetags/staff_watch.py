"""Whether the viewer watches the case (the case header's toggle)."""

from django import template

from disclosure.comms.preferences import is_watching

register = template.Library()


@register.simple_tag
def watches(user, case) -> bool:
    """Whether ``user`` watches ``case`` (one query)."""
    return is_watching(user, case)
