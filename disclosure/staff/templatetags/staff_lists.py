"""Template helpers of the dashboard and the case list."""

from datetime import datetime, timedelta

from django import template

from .case_page import case_time

register = template.Library()


# The same rendering as the case page's times, under the name these templates use.
register.simple_tag(case_time, name="local_time")


@register.filter
def relative(delta: timedelta | None) -> str:
    """A signed span in words: 'in 3 d 4 h' ahead, '2 d 1 h ago' behind."""
    if delta is None:
        return ""
    minutes = int(abs(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        text = f"{days} d {hours} h" if hours else f"{days} d"
    elif hours:
        text = f"{hours} h {mins} min" if mins else f"{hours} h"
    else:
        text = f"{mins} min"
    return f"in {text}" if delta.total_seconds() >= 0 else f"{text} ago"


@register.simple_tag
def until(due: datetime, at: datetime) -> timedelta:
    """``due - at``."""
    return due - at
