"""Per-token and per-user rate limits answer 429 with Retry-After."""

from __future__ import annotations

import pytest

from salesladder.org.services import api_token_create
from tests.api.conftest import World, session_client, token_client


@pytest.fixture
def tight_rates(settings, monkeypatch):
    # Freeze the clock 30 s into a minute, so no window boundary falls inside a test.
    monkeypatch.setattr("salesladder.org.throttling._now", lambda: 1_800_000_030.0)
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min", "user": "5/min", "anon": "2/min"},
    }


def test_token_is_throttled_with_retry_after(world: World, tight_rates):
    _, key = api_token_create(user=world.org.alice, name="busy")
    client = token_client(key)

    codes = [client.get("/api/v1/deals/").status_code for _ in range(4)]

    assert codes == [200, 200, 200, 429]
    throttled = client.get("/api/v1/deals/")
    assert throttled.status_code == 429
    assert throttled["Retry-After"] == "30"
    assert throttled.json()["errors"]["non_field_errors"]


def test_each_token_has_its_own_budget_but_the_user_budget_is_shared(world: World, tight_rates):
    _, first = api_token_create(user=world.org.alice, name="one")
    _, second = api_token_create(user=world.org.alice, name="two")

    first_codes = [token_client(first).get("/api/v1/me/").status_code for _ in range(3)]
    second_codes = [token_client(second).get("/api/v1/me/").status_code for _ in range(3)]

    assert first_codes == [200, 200, 200]
    # The second token is fresh, but alice's user budget (5/min) runs out after two more requests.
    assert second_codes == [200, 200, 429]


def test_users_are_throttled_in_the_browser_too(world: World, tight_rates):
    alice, bob = session_client(world.org.alice), session_client(world.org.bob)

    codes = [alice.get("/api/v1/me/").status_code for _ in range(6)]

    assert codes == [200] * 5 + [429]
    assert bob.get("/api/v1/me/").status_code == 200


def test_anonymous_callers_are_throttled_on_public_endpoints(db, tight_rates):
    client = session_client(None)
    codes = [client.get("/api/schema/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
