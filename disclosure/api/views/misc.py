"""The API's answer for a path it does not have: JSON, like every error."""

from django.http import JsonResponse
from drf_spectacular.utils import extend_schema


@extend_schema(exclude=True)
def not_found(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse({"code": "not_found", "message": "No such API endpoint."}, status=404)
