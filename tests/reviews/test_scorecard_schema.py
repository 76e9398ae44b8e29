"""The API's scorecard, for a real drafted review, matches the documented OpenAPI shape."""

from __future__ import annotations

from typing import Any

import jsonschema
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator

from reviews.models import Review
from reviews.services import review_drafts_create
from targets.periods import org_today


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 ``nullable`` → JSON Schema, and ``$ref``s pointed at ``#/definitions``."""
    if isinstance(node, list):
        return [_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k not in ("nullable", "readOnly", "writeOnly")}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/definitions/")
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def test_review_response_matches_its_schema(org, busy_month, api):
    review_drafts_create(period=busy_month, as_of=org_today())
    review = Review.objects.get(user=org.alice, period=busy_month.key)
    schema = SchemaGenerator(patterns=[path("api/v1/", include("reviews.api.urls"))]).get_schema(
        request=None, public=True
    )
    definitions = _json_schema(schema["components"]["schemas"])

    body = api(org.manager).get(f"/api/v1/reviews/{review.pk}/").json()

    jsonschema.validate(body, {"$ref": "#/definitions/Review", "definitions": definitions})
    assert body["scorecard"]["outcomes"]["won_count"] == 1
    assert len(body["scorecard"]["stages"]) == 6
