"""Middleware of the whole site."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from .responses import sandbox_download


class DownloadSandboxMiddleware:
    """Every response served as an attachment (``Content-Disposition:
    attachment``) leaves with ``nosniff`` and the sandboxing
    ``DOWNLOAD_CSP``, whichever view built it: the downloads that
    ``core.responses`` builds have them already; this catches any other (a
    CSV export, a future download). Listed after django-csp's middleware,
    so it answers first and the site's page policy is not put in place."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        disposition = response.get("Content-Disposition", "")
        if disposition.strip().lower().startswith("attachment"):
            sandbox_download(response)
        return response
