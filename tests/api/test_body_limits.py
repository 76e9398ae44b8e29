"""Oversized or non-standard request bodies get JSON errors with the right status, never a 500 or HTML."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/teams/"), ("patch", "/api/v1/teams/{east}/"), ("post", "/api/v1/leads/")],
)
def test_a_body_over_the_upload_limit_is_413_json(client_for, org, settings, method, path):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2000
    body = json.dumps({"name": "x" * 5000, "source": "s", "external_id": "e"})

    response = getattr(client_for("admin"), method)(
        path.format(east=org.east.pk), data=body, content_type="application/json"
    )

    assert response.status_code == 413
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["errors"]["non_field_errors"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_numbers_in_a_lead_are_a_400(client_for, constant):
    body = '{"source": "s", "external_id": "e", "amount": ' + constant + "}"

    response = client_for("admin").post("/api/v1/leads/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert "Malformed JSON" in response.json()["errors"]["non_field_errors"][0]
