"""Who may see and do what: the one module every interface asks.

- ``visible_cases(user)``: the cases a user may see, as a queryset.
- ``can(user, action, case)``: whether the user may take ``action`` on ``case``.
- ``require(user, action, case)``: the same, raising ``NotFound`` (without
  naming the case) when the user may not see the case, ``NotPermitted`` when
  they see it but may not take the action.

Staff (analyst, lead, legal, admin) see every case. Vendor contacts see their
own organizations' cases from ``vendor_notified`` on, and never internal notes.
Anonymous and inactive users see nothing. Interfaces answer 404 for a case
that is not visible, 403 (or a hidden button) for a visible case whose action
is not allowed. Whether the case's *stage and state* allow an action is the
transitions table's question (``transitions.refusal``); ``available_actions``
combines both, so it lists an action exactly when its service would accept it.
"""

from enum import StrEnum

from django.db.models import Q, QuerySet

from disclosure.accounts.models import Role
from disclosure.accounts.selectors import can_administer as can_administer  # re-export
from disclosure.accounts.selectors import can_manage_contacts as can_manage_contacts  # re-export
from disclosure.accounts.selectors import principal_for
from disclosure.core.errors import NotFound, NotPermitted

from . import transitions
from .models import Case


class Action(StrEnum):
    VIEW = "view"
    VIEW_INTERNAL = "view_internal"
    EXPORT = "export"
    OPEN_CASE = "open_case"
    EDIT_POLICY = "edit_policy"  # a disclosure policy's terms bind its open cases: admins
    TRIAGE_MAIL = "triage_mail"  # received mail that matched no case (comms.triage)


_EXPORT_ROLES = frozenset({Role.LEGAL, Role.LEAD, Role.ADMIN})
# Who may attach received mail that matched no case, open a case from it or
# discard it (comms.triage): those who log communications and open cases.
_TRIAGE_MAIL_ROLES = frozenset({Role.ANALYST, Role.LEAD, Role.ADMIN})


def visible_cases(user) -> QuerySet[Case]:
    """Every case ``user`` may see (empty for anonymous and inactive users)."""
    condition = visible_case_condition(user)
    return Case.objects.none() if condition is None else Case.objects.filter(condition)


def visible_case_condition(user, via: str = "") -> Q | None:
    """The condition a case must meet for ``user`` to see it, on the relation
    ``via`` (``"case__"`` from a case's records; ``""`` on the case itself):
    an empty ``Q()`` for staff, None when the user sees no case at all. The
    rule as queries apply it; ``can_see`` is its twin for a loaded case."""
    p = principal_for(user)
    if p.is_staff_member:
        return Q()
    if p.vendor_ids:
        return Q(**{f"{via}vendor_id__in": p.vendor_ids, f"{via}vendor_notified_at__isnull": False})
    return None


def can_see(user, case: Case) -> bool:
    """``case in visible_cases(user)``, answered without a query."""
    p = principal_for(user)
    if p.is_staff_member:
        return True
    return case.vendor_id in p.vendor_ids and case.vendor_notified_at is not None


def role_on(user, case: Case | None) -> Role | None:
    """The role that counts for ``user`` on ``case``: their staff role, or
    vendor contact when the case belongs to one of their vendors."""
    p = principal_for(user)
    if p.staff_role is not None:
        return p.staff_role
    if case is not None and case.vendor_id in p.vendor_ids:
        return Role.VENDOR_CONTACT
    return None


def can(user, action: str, case: Case | None = None) -> bool:
    """Whether ``user`` may take ``action`` on ``case`` (by role and visibility).

    ``action`` is an ``Action`` or an action of the transitions table.
    Opening a case, editing a disclosure policy and triaging mail take no case.
    """
    if action == Action.OPEN_CASE:
        return principal_for(user).staff_role in transitions.OPEN_CASE_ROLES
    if action == Action.EDIT_POLICY:
        return principal_for(user).staff_role == Role.ADMIN
    if action == Action.TRIAGE_MAIL:
        return principal_for(user).staff_role in _TRIAGE_MAIL_ROLES
    if case is None or not can_see(user, case):
        return False
    role = role_on(user, case)
    if action == Action.VIEW:
        return True
    if action == Action.VIEW_INTERNAL:
        return principal_for(user).is_staff_member
    if action == Action.EXPORT:
        return role in _EXPORT_ROLES
    return role in transitions.get(action).roles


def can_override(user, action: str, case: Case) -> bool:
    """Whether ``user`` may override the stage guard of ``action`` on ``case``."""
    return can_see(user, case) and role_on(user, case) in transitions.get(action).override_roles


def require(user, action: str, case: Case | None = None) -> None:
    """Raise unless ``can(user, action, case)``: ``NotFound`` when ``case`` is
    not visible to ``user`` (the message never names it: a 404 must not tell
    that the case exists), else ``NotPermitted``."""
    if case is not None and not can_see(user, case):
        raise NotFound("No such case.")
    if not can(user, action, case):
        label = (
            transitions.TRANSITIONS[action].label
            if action in transitions.TRANSITIONS
            else str(action).replace("_", " ")
        )
        where = f" on {case.reference}" if case is not None else ""
        raise NotPermitted(f"You are not allowed to {label.lower()}{where}.")


def available_actions(user, case: Case) -> list[transitions.Transition]:
    """The table's actions ``user`` may take on ``case`` now, in table order
    (for buttons and API links): exactly those whose service would accept
    them with valid arguments. By role, then by ``transitions.refusal``:
    stage (counting overrides for those who may override, and milestones
    still missing after an early publication or a close), legal hold and
    precondition. Select the case with ``deletion_attestation`` to spare the
    countersign/deletion preconditions a query."""
    result = []
    for t in transitions.TRANSITIONS.values():
        if not can(user, t.action, case):
            continue
        override = bool(t.override_source) and can_override(user, t.action, case)
        if transitions.runs_now(t.action, case, with_override=override):
            result.append(t)
    return result


def can_use_staff_ui(user) -> bool:
    """Whether ``user`` may use the staff web UI: active research staff (any
    staff role). Vendor contacts have the portal; everyone else nothing."""
    return principal_for(user).is_staff_member


def can_use_portal(user) -> bool:
    """Whether ``user`` may use the vendor portal as a vendor: an active
    vendor contact who holds no staff role (staff see the portal only as a
    read-only preview, ``can_preview_as_vendor``)."""
    p = principal_for(user)
    return p.is_vendor_contact and not p.is_staff_member


def can_preview_as_vendor(user, case: Case) -> bool:
    """Whether ``user`` may open ``case`` as its vendor sees it: staff who
    see the case."""
    return principal_for(user).is_staff_member and can_see(user, case)
