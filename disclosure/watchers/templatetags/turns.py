"""Whose turn it is (watchers.selectors), for the case page and the dashboard."""

from collections.abc import Iterable
from datetime import timedelta

from django import template

from disclosure.core.timeutils import now

from .. import selectors

register = template.Library()


@register.simple_tag
def whose_turn(case) -> selectors.Turn:
    """``{% whose_turn case as turn %}``: one query."""
    return selectors.whose_turn(case)


@register.simple_tag
def attach_turns(*row_lists: Iterable) -> str:
    """``{% attach_turns board.overdue board.due_soon %}``: set ``turn`` on
    the case of every row (anything with a ``case``) of the lists, in one
    query for all of them; renders nothing."""
    cases = [row.case for rows in row_lists for row in rows or ()]
    turns = selectors.turns_for(cases)
    for case in cases:
        case.turn = turns[case.pk]
    return ""


@register.filter
def turn_for(turn: selectors.Turn | None) -> timedelta | None:
    """How long the turn has lasted (now - since)."""
    return None if turn is None else now() - turn.since
