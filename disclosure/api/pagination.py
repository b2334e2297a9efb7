"""Pages of every API list, capped at settings.API_MAX_PAGE_SIZE: numbered
pages for cases and the small lists, cursors for a case's events and
communications (stable while new ones are appended)."""

from django.conf import settings
from rest_framework import pagination


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
