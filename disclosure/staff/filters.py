"""The case list's filters, search and sort (django-filter)."""

from datetime import datetime

import django_filters
from django.db.models import F, QuerySet

from disclosure.accounts.models import Organization
from disclosure.accounts.selectors import staff_members
from disclosure.cases import list_filters
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

YES_NO = (("yes", "Yes"), ("no", "No"))

# Sort keys the list accepts (a leading '-' reverses) and what each orders by
# (ties by creation, in the same direction; cases without the value last).
SORTS: dict[str, tuple[str, ...]] = {
    "reference": ("reference",),
    "title": ("title", "pk"),
    "vendor": ("vendor__name", "pk"),
    "stage": ("stage_rank", "pk"),
    "severity": ("severity_rank", "pk"),
    "found": ("found_at", "pk"),
    "notified": ("vendor_notified_at", "pk"),
}
DEFAULT_SORT = "-found"
NULLABLE_SORTS = frozenset({"notified"})


SORT_LABELS = {
    "reference": ("Reference", "A to Z", "Z to A"),
    "title": ("Title", "A to Z", "Z to A"),
    "vendor": ("Vendor", "A to Z", "Z to A"),
    "stage": ("Stage", "earliest first", "latest first"),
    "severity": ("Severity", "lowest first", "highest first"),
    "found": ("Found", "oldest first", "newest first"),
    "notified": ("Notified", "oldest first", "newest first"),
}


def sort_choices() -> list[tuple[str, str]]:
    result = []
    for key in SORTS:
        name, up, down = SORT_LABELS[key]
        result += [(key, f"{name}, {up}"), (f"-{key}", f"{name}, {down}")]
    return result


class CaseFilter(django_filters.FilterSet):
    """Filters of the staff case list. Build it with ``at`` (the time that
    decides what is overdue)."""

    q = django_filters.CharFilter(
        label="Search",
        method="filter_search",
        help_text="Reference, title, summary, asset, messages, contacts, disputes, file names.",
    )
    stage = django_filters.ChoiceFilter(choices=Stage.choices, empty_label="Any stage")
    vendor = django_filters.ModelChoiceFilter(
        queryset=Organization.objects.filter(kind=Organization.Kind.VENDOR).order_by("name"),
        empty_label="Any vendor",
    )
    assignee = django_filters.ModelChoiceFilter(queryset=None, empty_label="Anyone")
    severity = django_filters.ChoiceFilter(choices=Severity.choices, empty_label="Any severity")
    tlp = django_filters.ChoiceFilter(choices=Tlp.choices, label="TLP", empty_label="Any TLP")
    provider = django_filters.ChoiceFilter(
        field_name="asset_provider", choices=AssetProvider.choices, empty_label="Any provider"
    )
    asset_kind = django_filters.ChoiceFilter(choices=AssetKind.choices, empty_label="Any kind")
    category = django_filters.ChoiceFilter(
        label="Data category",
        choices=DataCategory.choices,
        method="filter_category",
        empty_label="Any category",
    )
    overdue = django_filters.ChoiceFilter(
        label="Overdue", choices=YES_NO, method="filter_overdue", empty_label="Either"
    )
    disputed = django_filters.ChoiceFilter(
        label="Disputed", choices=YES_NO, method="filter_disputed", empty_label="Either"
    )
    legal_hold = django_filters.ChoiceFilter(
        label="Legal hold", choices=YES_NO, method="filter_legal_hold", empty_label="Either"
    )
    sort = django_filters.ChoiceFilter(
        label="Sort by", choices=sort_choices, method="filter_sort", empty_label="Newest found"
    )

    class Meta:
        model = Case
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, at: datetime, **kwargs):
        self.at = at
        super().__init__(data, queryset, **kwargs)
        self.filters["assignee"].queryset = staff_members()

    def filter_queryset(self, queryset: QuerySet[Case]) -> QuerySet[Case]:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("sort"):
            queryset = queryset.order_by("-found_at", "-pk")
        return queryset

    def filter_search(self, queryset, name, value):
        return search_cases(queryset, value, staff=True)

    def filter_category(self, queryset, name, value):
        return list_filters.with_category(queryset, value)

    def filter_overdue(self, queryset, name, value):
        return list_filters.overdue(queryset, at=self.at, yes=value == "yes")

    def filter_disputed(self, queryset, name, value):
        return list_filters.disputed(queryset, yes=value == "yes")

    def filter_legal_hold(self, queryset, name, value):
        return queryset.filter(legal_hold=value == "yes")

    def filter_sort(self, queryset, name, value):
        key = value.removeprefix("-")
        fields = SORTS[key]
        if key == "stage":
            queryset = queryset.alias(stage_rank=choice_rank("stage", Stage))
        elif key == "severity":
            queryset = queryset.alias(severity_rank=choice_rank("severity", Severity))
        descending = value.startswith("-")
        # Only a nullable column needs NULLS LAST; the others keep the plain
        # order their indexes serve in both directions.
        nulls_last = True if key in NULLABLE_SORTS else None
        return queryset.order_by(
            *(
                F(f).desc(nulls_last=nulls_last) if descending else F(f).asc(nulls_last=nulls_last)
                for f in fields
            )
        )
