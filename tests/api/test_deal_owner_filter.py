"""The deal list's ``owner`` filter takes a user id or a username (as lead intake names owners): the same deals
either way, the same 400 for a name that does not exist or is outside the caller's scope as for such an id, and
the same number of queries."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.conftest import World, session_client
from tests.factories import make_deal


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(d["title"] for d in response.json()["results"])


def _without_ids(body: dict) -> str:
    return re.sub(r"\d+", "N", json.dumps(body, sort_keys=True))


def test_a_username_filters_like_the_users_id(world: World):
    org = world.org
    make_deal(owner=org.bob, title="bob's second")
    client = session_client(org.manager)

    by_id = client.get("/api/v1/deals/", {"owner": org.bob.pk})
    by_id_text = client.get("/api/v1/deals/", {"owner": f" {org.bob.pk} "})
    by_name = client.get("/api/v1/deals/", {"owner": "bob"})

    assert _titles(by_name) == _titles(by_id) == _titles(by_id_text) == ["bob deal", "bob's second"]
    assert by_name.json()["count"] == 2


def test_unknown_and_out_of_scope_usernames_are_the_same_400_as_such_ids(world: World):
    org = world.org
    client = session_client(org.alice)  # dave (West) exists but is outside alice's scope

    missing_id = client.get("/api/v1/deals/", {"owner": 999_999})
    other_scope_id = client.get("/api/v1/deals/", {"owner": org.dave.pk})
    missing_name = client.get("/api/v1/deals/", {"owner": "nobody"})
    other_scope_name = client.get("/api/v1/deals/", {"owner": "dave"})

    for response in (missing_id, other_scope_id, missing_name, other_scope_name):
        assert response.status_code == 400
        assert list(response.json()["errors"]) == ["owner"]
    assert _without_ids(missing_name.json()) == _without_ids(other_scope_name.json()) == _without_ids(missing_id.json())


def test_usernames_match_exactly(world: World):
    client = session_client(world.org.manager)

    assert client.get("/api/v1/deals/", {"owner": "Bob"}).status_code == 400
    assert client.get("/api/v1/deals/", {"owner": "bo"}).status_code == 400


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_the_username_form_costs_the_queries_of_the_id_form(world: World, who, django_assert_max_num_queries):
    org = world.org
    client = session_client(getattr(org, who))
    for i in range(20):
        make_deal(owner=org.alice, title=f"alice {i}")
    by_id, by_name = {"owner": org.alice.pk, "page_size": 500}, {"owner": "alice", "page_size": 500}
    with CaptureQueriesContext(connection) as cold_by_id:
        rows_by_id = _titles(client.get("/api/v1/deals/", by_id))
    with CaptureQueriesContext(connection) as warm_by_id:  # the count is cached now
        client.get("/api/v1/deals/", by_id)

    with django_assert_max_num_queries(len(cold_by_id)):
        rows_by_name = _titles(client.get("/api/v1/deals/", by_name))
    with django_assert_max_num_queries(len(warm_by_id)):
        client.get("/api/v1/deals/", by_name)

    assert 0 < len(warm_by_id) < len(cold_by_id)
    assert rows_by_name == rows_by_id
    assert len(rows_by_name) == 21


def test_the_deals_page_takes_a_username_too(world: World, client):
    org = world.org
    client.force_login(org.manager)

    html = client.get("/deals/", {"owner": "nina"}).content.decode()

    assert "nina deal" in html
    assert "bob deal" not in html


def test_the_schema_says_owner_is_an_id_or_a_username(db, client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    owner = next(p for p in schema["paths"]["/api/v1/deals/"]["get"]["parameters"] if p["name"] == "owner")

    assert owner["schema"]["type"] == "string"
    assert "username" in owner["description"]
