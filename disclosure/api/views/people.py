"""Who the caller is (``GET me/``) and the firm's staff directory
(``GET staff/``, staff only): the ids a body's ``performed_by``,
``verified_by`` or ``assignee`` may name."""

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from disclosure.accounts import selectors
from disclosure.accounts.models import Organization, Role

from ..permissions import StaffOnly


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Organization.Kind.choices)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    role = serializers.ChoiceField(
        choices=Role.choices,
        allow_null=True,
        help_text="The staff role (the highest held), vendor_contact, or null.",
    )
    staff = serializers.BooleanField(help_text="Whether the caller is research-firm staff.")
    organization = OrganizationRefSerializer(
        allow_null=True,
        help_text="The firm for staff; the vendor for a contact of exactly one vendor.",
    )
    organizations = OrganizationRefSerializer(
        many=True, help_text="Every organization whose member the caller is."
    )


class StaffMemberSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    name = serializers.CharField()
    role = serializers.ChoiceField(choices=Role.choices)


def _org(org_id: int, name: str, kind: str) -> dict[str, Any]:
    return {"id": org_id, "name": name, "kind": kind}


class Me(APIView):
    """The caller: who they are, their role and organization."""

    @extend_schema(responses={200: MeSerializer})
    def get(self, request):
        user = request.user
        p = selectors.principal_for(user)
        orgs = [
            _org(*row)
            for row in user.memberships.order_by("organization__name").values_list(
                "organization_id", "organization__name", "organization__kind"
            )
        ]
        organization = None
        if p.is_staff_member:
            role = str(p.staff_role)
            firm = next((o for o in orgs if o["kind"] == Organization.Kind.FIRM), None)
            if firm is None and (found := selectors.firm()) is not None:
                firm = _org(found.pk, found.name, found.kind)  # a superuser without membership
            organization = firm
        elif p.is_vendor_contact:
            role = str(Role.VENDOR_CONTACT)
            vendors = [o for o in orgs if o["kind"] == Organization.Kind.VENDOR]
            organization = vendors[0] if len(vendors) == 1 else None
        else:
            role = None
        return Response(
            {
                "id": user.pk,
                "username": user.get_username(),
                "name": user.display_name(),
                "email": user.email,
                "role": role,
                "staff": p.is_staff_member,
                "organization": organization,
                "organizations": orgs,
            }
        )


class StaffDirectory(APIView):
    """The firm's active staff by username, each with their highest staff
    role (staff only): whom ``performed_by``, ``verified_by`` and
    ``assignee`` may name."""

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    @extend_schema(responses={200: StaffMemberSerializer(many=True)})
    def get(self, request):
        return Response(
            [
                {"id": s.id, "username": s.username, "name": s.name, "role": str(s.role)}
                for s in selectors.staff_directory()
            ]
        )
