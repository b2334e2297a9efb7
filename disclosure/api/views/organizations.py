"""Organizations (the firm and vendors): read-only, staff only."""

import django_filters
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from disclosure.accounts.models import Organization

from ..permissions import StaffOnly
from ..serializers.records import OrganizationSerializer


class OrganizationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Organization.Kind.choices)

    class Meta:
        model = Organization
        fields: list[str] = []


class OrganizationList(generics.ListAPIView):
    """Every organization by name; ``?kind=vendor`` for the vendors a case may name."""

    serializer_class = OrganizationSerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = OrganizationFilter

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    def get_queryset(self):
        return Organization.objects.order_by("name", "id")


class OrganizationDetail(generics.RetrieveAPIView):
    serializer_class = OrganizationSerializer

    def get_permissions(self):
        return [*super().get_permissions(), StaffOnly()]

    def get_queryset(self):
        return Organization.objects.all()
