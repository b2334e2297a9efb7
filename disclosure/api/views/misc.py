"""The API's answer for a path it does not have: JSON, like every error."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema


@extend_schema(exclude=True)
@csrf_exempt  # it changes nothing; a POST to a wrong path is a JSON 404 too
def not_found(request, *args, **kwargs) -> JsonResponse:
    return JsonResponse({"code": "not_found", "message": "No such API endpoint."}, status=404)
