"""One exception handler for the whole API.

Every error answers JSON with field-level detail, in one shape:
``{"errors": {"field": ["message", ...]}, "detail": "summary"}``; domain errors map to 400/409,
DRF's own errors keep their status (401/403/404/405/413/415/429...).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from salesladder.errors import DomainError


def _flatten(detail: Any, prefix: str, out: dict[str, list[str]]) -> None:
    """Nested serializer/list errors become dotted keys: ``{"events": {"0": [...]}}`` → ``{"events.0": [...]}``."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            _flatten(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):
            if item:  # list serializers report an empty {} for the valid items
                _flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        out.setdefault(prefix or "non_field_errors", []).extend(str(m) for m in messages)


def _as_field_errors(detail: Any) -> dict[str, list[str]]:
    """Always ``{field: [message, ...]}``, the one error shape the API documents."""
    out: dict[str, list[str]] = {}
    _flatten(detail, "", out)
    return out


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"errors": exc.errors, "detail": exc.message}
        extra = getattr(exc, "api_extra", None)
        if callable(extra):
            body.update(extra())
        return Response(body, status=exc.status_code)
    if isinstance(exc, RequestDataTooBig):  # Django refused to read the body (DATA_UPLOAD_MAX_MEMORY_SIZE)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        exc = RequestTooLarge(_("The request body is larger than %(n)d bytes.") % {"n": limit})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"errors": _as_field_errors(exc.detail), "detail": "Invalid input."}
        response.status_code = status.HTTP_400_BAD_REQUEST
    elif isinstance(exc, exceptions.APIException):
        detail = response.data.get("detail", str(exc)) if isinstance(response.data, dict) else str(exc)
        response.data = {"errors": {"non_field_errors": [str(detail)]}, "detail": str(detail)}
    return response
