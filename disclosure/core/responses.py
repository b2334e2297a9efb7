"""HTTP responses every interface builds alike."""

from typing import IO

from django.http import FileResponse, HttpResponseBase

# The policy of every download (staff, portal, API): a file opened by a
# direct visit runs no script and loads nothing, whatever it claims to be.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


def sandbox_download(response: HttpResponseBase) -> HttpResponseBase:
    """``response`` marked as a download: ``nosniff`` and ``DOWNLOAD_CSP``
    (which the site-wide policy middleware leaves in place)."""
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = DOWNLOAD_CSP
    return response


def attachment(stream: IO[bytes], *, filename: str, content_type: str) -> FileResponse:
    """Stream ``stream`` as a download under ``filename``: always an
    attachment, with the given content type (``application/octet-stream``
    when unknown), ``nosniff`` and the sandboxing ``DOWNLOAD_CSP``, so a
    browser never renders it inline nor runs it."""
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=filename,
        content_type=content_type or "application/octet-stream",
    )
    sandbox_download(response)
    return response
