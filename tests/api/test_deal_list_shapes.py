"""The deal list remembers its page statement per request shape (scope, filters, ordering, slice): the
remembered statements must never show one caller another's deals, follow a change of scope at once, and
never let a bad filter through."""

from __future__ import annotations

import pytest

from pipeline.models import Stage
from salesladder.org.models import Role
from salesladder.org.services import membership_set
from tests.api.conftest import World, session_client
from tests.factories import make_deal

pytestmark = pytest.mark.django_db


def titles(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_same_query_other_callers_see_their_own_deals(world: World):
    org = world.org
    for _ in range(2):  # the second round reads remembered statements
        assert titles(session_client(org.alice).get("/api/v1/deals/", {"page_size": 10})) == ["alice deal"]
        assert titles(session_client(org.dave).get("/api/v1/deals/", {"page_size": 10})) == ["dave deal"]
        assert sorted(titles(session_client(org.mgr_west).get("/api/v1/deals/", {"page_size": 10}))) == ["dave deal"]
        assert sorted(titles(session_client(org.manager).get("/api/v1/deals/", {"page_size": 10}))) == [
            "alice deal",
            "bob deal",
            "nina deal",
        ]


def test_a_change_of_scope_shows_at_once(world: World):
    org = world.org
    client = session_client(org.dave)
    query = {"ordering": "-title", "page_size": 1}  # the same slice before and after
    assert titles(client.get("/api/v1/deals/", query)) == ["dave deal"]
    membership_set(user=org.dave, team=org.east_north, role=Role.MANAGER)
    assert titles(client.get("/api/v1/deals/", query)) == ["nina deal"]
    assert client.get("/api/v1/deals/", query).json()["count"] == 2


def test_repeated_pages_are_byte_identical_and_follow_writes(world: World):
    client = session_client(world.org.manager)
    query = {"stage": [Stage.NEEDS], "ordering": "-title", "page_size": 2}
    first = client.get("/api/v1/deals/", query)
    again = client.get("/api/v1/deals/", query)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert [r["title"] for r in first.json()["results"]] == ["nina deal", "bob deal"]
    assert client.get("/api/v1/deals/", {**query, "page": 2}).json()["results"][0]["title"] == "alice deal"
    make_deal(owner=world.org.bob, stage=Stage.NEEDS, title="zoe deal")
    assert titles(client.get("/api/v1/deals/", query)) == ["zoe deal", "nina deal"]


def test_bad_filters_are_refused_every_time(world: World):
    org = world.org
    client = session_client(org.alice)
    for _ in range(2):
        assert client.get("/api/v1/deals/", {"stage": "nowhere"}).status_code == 400
        assert client.get("/api/v1/deals/", {"created_after": "not a date"}).status_code == 400
    # A filter checked against the database (another team's user) after the same shape without it was served.
    assert client.get("/api/v1/deals/").status_code == 200
    assert client.get("/api/v1/deals/", {"owner": org.dave.pk}).status_code == 400
    assert client.get("/api/v1/deals/", {"page": 99}).status_code == 404
