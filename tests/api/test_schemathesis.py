"""Property-based fuzzing of the API against its own OpenAPI schema (schemathesis).

Every operation gets ``SCHEMATHESIS_MAX_EXAMPLES`` generated requests (CI: 50; locally 10 by default)
as an admin with a full-access key on seeded data. A 5xx or a response that does not match the
documented schema fails the test.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from salesladder.org.services import api_token_create
from tests.api.conftest import World

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "10"))

# Loaded once at collection: generating the schema needs no database. A schema that cannot be generated
# fails one test below instead of breaking the collection of the whole suite.
SCHEMA_ERROR: Exception | None = None
try:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
except Exception as exc:  # noqa: BLE001
    SCHEMA_ERROR = exc


def test_schema_loads():
    assert SCHEMA_ERROR is None, f"/api/schema/ could not be loaded: {SCHEMA_ERROR}"


@pytest.fixture
def _keep_test_connection():
    """Like Django's test client: a request must not close the connection that holds the test's transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_key(world: World, settings, _keep_test_connection) -> str:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "100000/min", "user": "100000/min", "anon": "100000/min"},
    }
    return api_token_create(user=world.org.admin, name="schemathesis")[1]


if SCHEMA_ERROR is None:

    @schema.parametrize()
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def test_api_conforms_to_its_schema(case, admin_key):
        response = case.call(headers={"Authorization": f"Bearer {admin_key}"})
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
