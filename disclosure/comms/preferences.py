"""What a person chooses about the mail they get: each notice at once or a
daily digest (``set_mail_delivery``, staff and vendor contacts alike), and,
for staff, which cases they watch (``watch_case``: the watchers hear of a
vendor's actions when the case has no assignee; comms.notices)."""

from django.db import transaction

from disclosure.accounts.models import User
from disclosure.accounts.selectors import principal_for
from disclosure.cases import access
from disclosure.cases.models import Case
from disclosure.core.errors import NotFound, NotPermitted, ValidationFailed
from disclosure.core.validation import validated


@transaction.atomic
@validated
def set_mail_delivery(*, actor: User, choice: str) -> User:
    """Set how ``actor`` is told of what happens on their cases:
    ``immediate`` (one mail per notice) or ``digest`` (one mail a day).
    Staff and vendor contacts choose for themselves; anyone else is
    refused (NotPermitted). Returns the saved user."""
    principal = principal_for(actor)
    if not (principal.is_staff_member or principal.is_vendor_contact):
        raise NotPermitted("Only research staff and vendor contacts get mail from Disclosure.")
    if choice not in User.MailDelivery.values:
        raise ValidationFailed(
            f"Unknown choice {choice!r}: use one of {', '.join(User.MailDelivery.values)}.",
            field="choice",
        )
    user = User.objects.select_for_update().get(pk=actor.pk)
    if user.mail_delivery != choice:
        user.mail_delivery = choice
        user.save(update_fields=["mail_delivery"])
    actor.mail_delivery = choice
    return user


@transaction.atomic
@validated
def watch_case(*, actor: User, case: Case, watching: bool) -> bool:
    """Start (``watching``) or stop watching ``case``; whether ``actor``
    watches it now. Staff who may see the case's internal records only: a
    case the actor cannot see is NotFound, a vendor contact NotPermitted.
    Watching twice, or stopping what one does not watch, changes nothing."""
    if not access.can_see(actor, case):
        raise NotFound("No such case.")
    if not access.can(actor, access.Action.VIEW_INTERNAL, case):
        raise NotPermitted("Only research staff watch cases.")
    if watching:
        case.watchers.add(actor)
    else:
        case.watchers.remove(actor)
    return watching


def is_watching(user: User, case: Case) -> bool:
    """Whether ``user`` watches ``case`` (the case page's toggle)."""
    return case.watchers.filter(pk=user.pk).exists()
