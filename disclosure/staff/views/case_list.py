"""The case list: filters, search, sort and pages over the visible cases."""

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from disclosure.cases import selectors
from disclosure.cases.deadlines import next_deadline
from disclosure.core.timeutils import now

from ..decorators import staff_required
from ..filters import CaseFilter

DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
PAGE_SIZES = (25, 50, 100)
# (heading, sort key or None when the column does not sort)
COLUMNS = (
    ("Reference", "reference"),
    ("Title", "title"),
    ("Vendor", "vendor"),
    ("Stage", "stage"),
    ("Severity", "severity"),
    ("TLP", None),
    ("Assignee", None),
    ("Found", "found"),
    ("Next deadline", None),
)


def columns(sort: str) -> list[dict]:
    """Each heading with the sort its link asks for (the other direction when
    the list is sorted by it) and its ``aria-sort`` state."""
    current = sort or "-found"
    result = []
    for label, key in COLUMNS:
        state, following = "none", key
        if key and current.removeprefix("-") == key:
            descending = current.startswith("-")
            state = "descending" if descending else "ascending"
            following = key if descending else f"-{key}"
        result.append({"label": label, "key": key, "aria_sort": state, "next": following})
    return result


class ReversingPaginator(Paginator):
    """A paginator that reads pages past the middle from the other end (the
    order reversed, a small offset, the rows turned back): the last page of
    100,000 rows costs what the first does. The order must be total (the
    list always ends it with the primary key)."""

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if bottom <= self.count // 2:
            return super().page(number)
        rows = list(self.object_list.reverse()[self.count - top : self.count - bottom])
        rows.reverse()
        return self._get_page(rows, number, self)


def page_size(raw: str | None) -> int:
    """The rows per page asked for, within 1..MAX_PAGE_SIZE (default 25)."""
    try:
        size = int(raw or DEFAULT_PAGE_SIZE)
    except ValueError:
        return DEFAULT_PAGE_SIZE
    return DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)


def page_number(raw: str | None) -> int | str:
    """The page asked for: a number of at least 1, or "last"; anything else 1."""
    if raw == "last":
        return raw
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        return 1


@staff_required
def case_list(request: HttpRequest) -> HttpResponse:
    at = now()
    case_filter = CaseFilter(
        request.GET or None,
        queryset=selectors.case_list(request.user),
        at=at,
    )
    size = page_size(request.GET.get("page_size"))
    # Page through the keys alone (no joins while sorting every match), then
    # read the page's rows whole: one more query, much less work at 100,000.
    paginator = ReversingPaginator(case_filter.qs.values_list("pk", flat=True), size)
    number = page_number(request.GET.get("page"))
    page = paginator.get_page(paginator.num_pages if number == "last" else number)
    sort = case_filter.form.cleaned_data.get("sort", "") if case_filter.is_bound else ""
    keys = list(page.object_list)
    cases = selectors.case_list(request.user).in_bulk(keys)
    rows = [(cases[pk], next_deadline(cases[pk])) for pk in keys]
    return render(
        request,
        "staff/case_list/list.html",
        {
            "nav": "cases",
            "filter": case_filter,
            "page": page,
            "rows": rows,
            "now": at,
            "page_size": size,
            "page_sizes": PAGE_SIZES,
            "columns": columns(sort),
        },
    )
