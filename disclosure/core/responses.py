"""HTTP responses every interface builds alike."""

from typing import IO

from django.http import FileResponse


def attachment(stream: IO[bytes], *, filename: str, content_type: str) -> FileResponse:
    """Stream ``stream`` as a download under ``filename``: always an
    attachment, with the given content type (``application/octet-stream``
    when unknown) and ``nosniff``, so a browser never renders it inline."""
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=filename,
        content_type=content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
