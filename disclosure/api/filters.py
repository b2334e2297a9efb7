"""Filters and ordering of the case list (django-filter): the staff list's
filters. Vendor contacts may filter only on what they may see: the firm's
own fields (assignee, severity, legal hold) are refused for them."""

import django_filters
from django.db.models import F
from rest_framework.exceptions import ValidationError

from disclosure.accounts.models import Organization
from disclosure.accounts.selectors import staff_members
from disclosure.cases import access, list_filters
from disclosure.cases.models import (
    AssetKind,
    AssetProvider,
    Case,
    DataCategory,
    Severity,
    Tlp,
    choice_rank,
)
from disclosure.cases.search import search_cases
from disclosure.cases.stages import Stage
from disclosure.core.timeutils import now

YES_NO = (("yes", "Yes"), ("no", "No"))
INTERNAL_FILTERS = ("assignee", "severity", "legal_hold")

# Ordering keys (a leading '-' reverses) and what each orders by; ties by
# creation in the same direction, cases without the value last.
ORDERINGS: dict[str, tuple[str, ...]] = {
    "reference": ("reference",),
    "title": ("title", "pk"),
    "vendor": ("vendor__name", "pk"),
    "stage": ("stage_rank", "pk"),
    "severity": ("severity_rank", "pk"),
    "found": ("found_at", "pk"),
    "notified": ("vendor_notified_at", "pk"),
}


class CaseFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_search",
        help_text=(
            "Words of the reference, title, summary, asset, communications, contact "
            "addresses, disputes or evidence file names."
        ),
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices)
    vendor = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.filter(kind=Organization.Kind.VENDOR)
    )
    assignee = django_filters.ModelChoiceFilter(queryset=staff_members(), help_text="Staff only.")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, help_text="Staff only.")
    tlp = django_filters.ChoiceFilter(choices=Tlp.choices)
    provider = django_filters.ChoiceFilter(field_name="asset_provider",
                                           choices=AssetProvider.choices)  # fmt: skip
    asset_kind = django_filters.ChoiceFilter(choices=AssetKind.choices)
    category = django_filters.ChoiceFilter(choices=DataCategory.choices, method="filter_category")
    overdue = django_filters.ChoiceFilter(choices=YES_NO, method="filter_overdue")
    disputed = django_filters.ChoiceFilter(choices=YES_NO, method="filter_disputed")
    legal_hold = django_filters.ChoiceFilter(
        choices=YES_NO, method="filter_legal_hold", help_text="Staff only."
    )
    ordering = django_filters.ChoiceFilter(
        choices=[(k, k) for key in ORDERINGS for k in (key, f"-{key}")],
        method="filter_ordering",
        help_text="Default -found (newest found first).",
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def filter_queryset(self, queryset):
        user = getattr(self.request, "user", None)
        if not access.can_use_staff_ui(user):
            given = [name for name in INTERNAL_FILTERS if self.data.get(name) not in (None, "")]
            ordering = (self.data.get("ordering") or "").removeprefix("-")
            if ordering == "severity":
                given.append("ordering")
            if given:
                raise ValidationError(
                    {name: ["Not available to vendor contacts."] for name in given}
                )
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("-found_at", "-pk")
        return queryset

    def filter_search(self, queryset, name, value):
        staff = access.can_use_staff_ui(getattr(self.request, "user", None))
        return search_cases(queryset, value, staff=staff)

    def filter_category(self, queryset, name, value):
        return list_filters.with_category(queryset, value)

    def filter_overdue(self, queryset, name, value):
        return list_filters.overdue(queryset, at=now(), yes=value == "yes")

    def filter_disputed(self, queryset, name, value):
        return list_filters.disputed(queryset, yes=value == "yes")

    def filter_legal_hold(self, queryset, name, value):
        return queryset.filter(legal_hold=value == "yes")

    def filter_ordering(self, queryset, name, value):
        key = value.removeprefix("-")
        if key == "stage":
            queryset = queryset.alias(stage_rank=choice_rank("stage", Stage))
        elif key == "severity":
            queryset = queryset.alias(severity_rank=choice_rank("severity", Severity))
        descending = value.startswith("-")
        return queryset.order_by(
            *(
                F(f).desc(nulls_last=True) if descending else F(f).asc(nulls_last=True)
                for f in ORDERINGS[key]
            )
        )
