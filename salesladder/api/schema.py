"""OpenAPI: every operation documents the API's one error shape.

``AutoSchema`` (the project's DEFAULT_SCHEMA_CLASS) adds the error responses an operation can give
(400 for input and filters, 401/403 for credentials and scope, 404 on detail paths, 429 when throttled)
unless the view already documents that code. Views add 409 etc. with ``extend_schema``.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "errors": serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            help_text="Field name (or `non_field_errors`) → messages.",
        ),
        "detail": serializers.CharField(help_text="A one-line summary."),
    },
)

ConflictSerializer = inline_serializer(
    name="StageConflictError",
    fields={
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
        "detail": serializers.CharField(),
        "current_stage": serializers.CharField(help_text="The stage the deal is in now."),
        "current_status": serializers.CharField(help_text="The status the deal has now."),
    },
)

CONFLICT = OpenApiResponse(ConflictSerializer, description="`expected_stage` no longer holds: the deal has moved.")

_ERRORS = {
    "400": "Invalid input or filter: field-level messages in `errors`.",
    "401": "No credentials, or an invalid, revoked or expired API key.",
    "403": "Not allowed for this user, or the API key lacks the scope.",
    "404": "No such object, or it is outside the caller's scope.",
    "429": "Too many requests; retry after the `Retry-After` header's seconds.",
}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ["401", "403", "429"]
        if self.method != "GET" or self._is_list_view():
            codes.append("400")
        if "{" in self.path:
            codes.append("404")
        for code in sorted(codes):
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = _ERRORS[code]
                responses[code] = response
        return responses
