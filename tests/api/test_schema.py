"""The OpenAPI document is valid and warning-free, and the docs pages load without any CDN."""

from __future__ import annotations

import re
from io import StringIO

import pytest
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.management import call_command


def test_schema_validates_without_warnings(db):
    out = StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=StringIO())
    schema = yaml.safe_load(out.getvalue())
    paths = schema["paths"]
    for path in [
        "/api/v1/me/",
        "/api/v1/teams/",
        "/api/v1/users/",
        "/api/v1/accounts/",
        "/api/v1/contacts/",
        "/api/v1/deals/",
        "/api/v1/deals/{id}/move/",
        "/api/v1/deals/{id}/lose/",
        "/api/v1/deals/{id}/reopen/",
        "/api/v1/deals/{id}/transitions/",
        "/api/v1/activities/",
        "/api/v1/activities/{id}/complete/",
    ]:
        assert path in paths, path


def _schema(client) -> dict:
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def test_schema_documents_filters_errors_and_conflicts(db, client):
    schema = _schema(client)
    deal_list = schema["paths"]["/api/v1/deals/"]["get"]
    params = {p["name"] for p in deal_list["parameters"]}
    assert {
        "owner",
        "team",
        "stage",
        "status",
        "source",
        "created_after",
        "updated_after",
        "search",
        "ordering",
        "page",
        "page_size",
    } <= params
    assert {"400", "401", "403", "429"} <= set(deal_list["responses"])

    move = schema["paths"]["/api/v1/deals/{id}/move/"]["post"]
    assert {"200", "400", "401", "403", "404", "409", "429"} <= set(move["responses"])
    conflict = move["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    assert conflict.endswith("/StageConflictError")
    error = move["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert error.endswith("/Error")
    assert "bearerAuth" in schema["components"]["securitySchemes"]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_only_local_assets(db, client, url: str):
    response = client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    references = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert references, "the page should load its JavaScript"
    external = [ref for ref in references if re.match(r"^(https?:)?//", ref)]
    assert external == []
    sidecar = [ref for ref in references if "drf_spectacular_sidecar" in ref]
    assert sidecar
    for ref in sidecar:  # every asset is shipped with the app (collectstatic serves it)
        assert finders.find(ref.removeprefix(settings.STATIC_URL).removeprefix("/static/")), ref
    assert "cdn.jsdelivr" not in html
    assert "unpkg.com" not in html


def test_the_api_root_lists_every_endpoint(client_for):
    response = client_for("alice").get("/api/v1/")

    assert response.status_code == 200
    index = response.json()
    for name in (
        "me",
        "teams",
        "users",
        "deals",
        "leads",
        "webhooks",
        "periods",
        "targets",
        "funnel",
        "reviews",
        "outcomes",
        "pipeline-value",
        "stage-win-rates",
    ):
        assert index[name].startswith("http://testserver/api/v1/"), name
