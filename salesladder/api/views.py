from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _


def not_found(request: HttpRequest) -> JsonResponse:
    """Unknown paths under /api/v1/ answer in the API's error shape."""
    detail = _("Not found.")
    return JsonResponse({"errors": {"non_field_errors": [detail]}, "detail": detail}, status=404)
