"""Organizations (the firm and vendors), staff only: list and read; leads
and admins create vendors (POST) and edit them (PATCH) through
accounts.vendors."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from disclosure.accounts import vendors
from disclosure.accounts.models import Organization

from ..permissions import StaffOnly
from ..serializers.records import OrganizationSerializer


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Organization.Kind.choices)

    class Meta:
        model = Organization
        fields: list[str] = []


def _fields(*, partial: bool) -> dict[str, serializers.Field]:
    def items(help_text: str) -> serializers.ListField:
        return serializers.ListField(
            child=serializers.CharField(max_length=254), required=False, help_text=help_text
        )

    return {
        "name": serializers.CharField(max_length=200, required=not partial),
        "domains": items("Host names; the first is the main one."),
        "security_contacts": items("E-mail addresses for security notices."),
        "time_zone": serializers.CharField(max_length=64, required=False),
        "mail_includes_content": serializers.BooleanField(
            required=False,
            help_text="Whether notices to the vendor's contacts may quote messages, notes "
            "and figures (off: they say what happened and link to the portal).",
        ),
    }


class VendorInput(serializers.Serializer):
    """A new vendor organization."""

    def get_fields(self):
        return _fields(partial=False)


class VendorUpdateInput(serializers.Serializer):
    """Changed fields of a vendor organization (only those given change)."""

    def get_fields(self):
        return _fields(partial=True)


class OrganizationList(generics.ListAPIView):
    """Every organization by name; ``?kind=vendor`` for the vendors a case may name."""

    serializer_class = OrganizationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrganizationFilter

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    def get_queryset(self):
        return Organization.objects.order_by("name", "id")

    @extend_schema(request=VendorInput, responses={201: OrganizationSerializer})
    def post(self, request):
        """Create a vendor organization (leads and admins; audited)."""
        serializer = VendorInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = vendors.create_vendor(actor=request.user, **serializer.validated_data)
        return Response(OrganizationSerializer(org).data, status=status.HTTP_201_CREATED)


class OrganizationDetail(generics.RetrieveAPIView):
    serializer_class = OrganizationSerializer

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    def get_queryset(self):
        return Organization.objects.all()

    @extend_schema(request=VendorUpdateInput, responses={200: OrganizationSerializer})
    def patch(self, request, pk: int):
        """Edit a vendor organization (leads and admins; only the fields
        given change; audited)."""
        org = self.get_object()
        serializer = VendorUpdateInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        org = vendors.update_vendor(
            actor=request.user, organization=org, changes=serializer.validated_data
        )
        return Response(OrganizationSerializer(org).data)
