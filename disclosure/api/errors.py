"""Every API error as JSON ``{code, message}`` (plus ``field`` for a domain
error on one input and ``errors`` for a serializer's field errors).

A DomainError answers its ``http_status`` with its stable ``code`` (NotFound
404, TransitionNotAllowed 409, ...); DRF's own exceptions keep their status
and code; anything unexpected is logged and answered 500 without detail.
"""

import logging

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from disclosure.core.errors import DomainError

logger = logging.getLogger(__name__)


def _first_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = _first_message(value)
            return inner if key == "non_field_errors" else f"{key}: {inner}"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    return str(detail)


def error_body(code: str, message: str, **extra) -> dict:
    return {"code": code, "message": message, **{k: v for k, v in extra.items() if v}}


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, field=exc.field), status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body(
                "request_too_large",
                "The request body is too large: send large files as a multipart upload "
                "to the case's evidence/ endpoint.",
            ),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", str(exc) or "Bad request."), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        logger.exception("Unhandled error in the API", exc_info=exc)
        return Response(
            error_body("server_error", "The server failed to answer; the error is logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body(
            "validation_failed", _first_message(exc.detail), errors=exc.detail
        )
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else "error"
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, _first_message(getattr(exc, "detail", str(exc))))
    return response
