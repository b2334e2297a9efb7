"""Template questions of the navigation, answered by the access module."""

from django import template

from disclosure.cases import access

register = template.Library()


@register.simple_tag
def may_open_case(user) -> bool:
    """Whether ``user`` may open a new case (``access.Action.OPEN_CASE``)."""
    return access.can(user, access.Action.OPEN_CASE)
