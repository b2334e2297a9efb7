"""The actions of the transitions table on one case.

GET /cases/{reference}/actions/ lists what ``access.available_actions``
allows the caller now, with what each requires and its body's fields.
POST /cases/{reference}/actions/{action}/ is one endpoint per action (one
view class each, so the schema gives each its own body).
"""

from drf_spectacular.utils import extend_schema
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.response import Response

from disclosure.cases import access, transitions

from ..serializers.actions import ACTION_INPUTS, ActionResultSerializer, AvailableActionSerializer
from ..serializers.common import origin
from .base import CaseScoped, run_action

assert set(ACTION_INPUTS) == set(transitions.TRANSITIONS)


class AvailableActions(CaseScoped):
    """What the caller may do on the case now (an action is listed exactly
    when its service would accept it with a valid body)."""

    serializer_class = AvailableActionSerializer
    pagination_class = None

    @extend_schema(responses={200: AvailableActionSerializer(many=True)})
    def get(self, request, reference: str):
        case = self.get_case()
        rows = []
        for t in access.available_actions(request.user, case):
            fields = ACTION_INPUTS[t.action]().fields
            rows.append(
                {
                    "action": t.action,
                    "label": t.label,
                    "requires": t.requires,
                    "changes_stage": t.changes_stage,
                    "target": str(t.target) if t.target else None,
                    "url": f"{origin(request)}/api/v1/cases/{case.reference}/actions/{t.action}/",
                    "fields": {
                        name: bool(f.required) for name, f in fields.items() if not f.read_only
                    },
                    "requires_one_of": list(ACTION_INPUTS[t.action].requires_one_of),
                }
            )
        return Response(rows)


def action_view(action: str) -> type[CaseScoped]:
    """The view of one action: POST runs its service."""
    t = transitions.get(action)
    input_class = ACTION_INPUTS[action]
    parsers = [MultiPartParser] if action == "attach_evidence" else [JSONParser]

    @extend_schema(
        operation_id=f"cases_actions_{action}",
        summary=t.label,
        description=f"Requires {t.requires}. 201 with the ledger events appended; "
        "409 with the reason when the case's stage or state does not allow it now.",
        request=input_class,
        responses={201: ActionResultSerializer},
        tags=["actions"],
    )
    def post(self, request, reference: str):
        return run_action(self, action, input_class)

    name = "".join(part.title() for part in action.split("_")) + "Action"
    return type(name, (CaseScoped,), {"post": post, "parser_classes": parsers,
                                       "serializer_class": input_class})  # fmt: skip


ACTION_VIEWS = {action: action_view(action) for action in transitions.TRANSITIONS}
