"""A vendor's "secured" not re-tested by staff (cases.secured_claim), for the
staff case page and the portal alike."""

from django import template

from disclosure.cases import access
from disclosure.cases.secured_claim import LABEL, NOTE, unconfirmed_claim

register = template.Library()


@register.simple_tag
def vendor_claim(case, user=None) -> dict | None:
    """None unless ``case``'s 'secured' is the vendor's unconfirmed claim;
    then its label, note, event seq and whether ``user`` may confirm it by a
    re-test (staff who may correct events). One query for a secured case."""
    event = unconfirmed_claim(case)
    if event is None:
        return None
    may_confirm = user is not None and access.can(user, "correct_event", case)
    return {"label": LABEL, "note": NOTE, "seq": event.seq, "may_confirm": may_confirm}
