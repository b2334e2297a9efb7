"""Pages of every API list, capped at settings.API_MAX_PAGE_SIZE: numbered
pages without a total for cases, with one for the small lists, cursors for a case's events and
communications (stable while new ones are appended)."""

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE


class EventCursorPagination(pagination.CursorPagination):
    page_size_query_param = "page_size"
    ordering = "seq"

    @property
    def max_page_size(self) -> int:
        return settings.API_MAX_PAGE_SIZE


class CommunicationCursorPagination(EventCursorPagination):
    ordering = ("occurred_at", "id")


MAX_OFFSET = 2**62


class PageWithoutCount(pagination.BasePagination):
    """Numbered pages without a total: reads one row more than the page to
    know whether there is a next one, so that a page of 100,000 matching
    cases costs no COUNT over all of them. ``?page=`` (from 1) and
    ``?page_size=`` (capped)."""

    page_size_query_param = "page_size"
    page_query_param = "page"

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        self.page_size = _size(request, self.page_size_query_param)
        try:
            self.page = int(request.query_params.get(self.page_query_param, 1))
        except ValueError:
            self.page = 0
        if self.page < 1:
            raise NotFound("Invalid page: pages are numbered from 1.")
        start = (self.page - 1) * self.page_size
        if start > MAX_OFFSET:  # SQL offsets are 64-bit: no such page
            raise NotFound("Invalid page: there are fewer pages.")
        rows = list(queryset[start : start + self.page_size + 1])
        self.has_next = len(rows) > self.page_size
        if self.page > 1 and not rows:
            raise NotFound("Invalid page: there are fewer pages.")
        return rows[: self.page_size]

    def _link(self, page: int | None) -> str | None:
        if page is None:
            return None
        url = self.request.build_absolute_uri()
        if page == 1:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, page)

    def get_paginated_response(self, data):
        return Response(
            {
                "next": self._link(self.page + 1 if self.has_next else None),
                "previous": self._link(self.page - 1 if self.page > 1 else None),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema):
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["results"],
            "properties": {"next": link, "previous": link, "results": schema},
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": self.page_query_param, "required": False, "in": "query",
             "description": "Page number, from 1.", "schema": {"type": "integer"}},
            {"name": self.page_size_query_param, "required": False, "in": "query",
             "description": "Rows per page (capped).", "schema": {"type": "integer"}},
        ]  # fmt: skip


def _size(request, param: str) -> int:
    default = api_settings.PAGE_SIZE
    try:
        asked = int(request.query_params.get(param, default))
    except ValueError:
        asked = default
    return max(1, min(asked, settings.API_MAX_PAGE_SIZE))
