"""Every list endpoint runs the same number of queries for 1 item and for 100 (all on one page)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipeline.models import Activity, StageTransition
from salesladder.org.services import api_token_create
from tests.api.conftest import World, session_client, token_client
from tests.factories import AccountFactory, ContactFactory, TeamFactory, make_deal, rep


def _queries(client, url: str, expected: int) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, {"page_size": 500})
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body["results"] if isinstance(body, dict) else body
    assert len(rows) == expected
    return len(ctx)


def _grow_deals(world: World, n: int) -> None:
    account = world.by_rep["alice"].account
    contact = world.by_rep["alice"].contact
    stages = ["prep", "needs", "proposal"]
    for i in range(n):
        deal = make_deal(owner=world.org.alice, stage=stages[i % 3], account=account, contact=contact)
        if i % 5 == 0:
            from pipeline.services import deal_lose
            from tests.factories import lost_reason

            deal_lose(deal=deal, reason=lost_reason(), actor=world.org.alice)


def _grow_accounts(world: World, n: int) -> None:
    AccountFactory.create_batch(n, owner=world.org.alice)


def _grow_contacts(world: World, n: int) -> None:
    ContactFactory.create_batch(n, account=world.by_rep["alice"].account)


def _grow_activities(world: World, n: int) -> None:
    deal = world.by_rep["alice"].deal
    Activity.objects.bulk_create(
        Activity(deal=deal, kind="task" if i % 2 else "call", subject=f"a{i}", owner=world.org.alice) for i in range(n)
    )


def _grow_teams(world: World, n: int) -> None:
    for i in range(n):
        TeamFactory(name=f"Squad {i}", parent=world.org.east)


def _grow_users(world: World, n: int) -> None:
    for i in range(n):
        rep(world.org.east, username=f"extra{i}")


def _grow_transitions(world: World, n: int) -> None:
    deal = world.by_rep["alice"].deal
    StageTransition.objects.bulk_create(
        StageTransition(
            deal=deal,
            kind="backward",
            from_stage="needs",
            to_stage="needs",
            from_status="open",
            to_status="open",
            occurred_at=timezone.now(),
            channel="api",
            owner=world.org.alice,
            team=world.org.east,
            actor=world.org.alice,
        )
        for _ in range(n)
    )


# (url, how to add n items alice can see, how many alice's scope holds at the start)
LISTS: dict[str, tuple[Callable[[World], str], Callable[[World, int], None], int]] = {
    "deals": (lambda w: "/api/v1/deals/", _grow_deals, 1),
    "accounts": (lambda w: "/api/v1/accounts/", _grow_accounts, 1),
    "contacts": (lambda w: "/api/v1/contacts/", _grow_contacts, 1),
    "activities": (lambda w: "/api/v1/activities/", _grow_activities, 1),
    "transitions": (lambda w: f"/api/v1/deals/{w.by_rep['alice'].deal.pk}/transitions/", _grow_transitions, 3),
}
# Organisation lists, read by the East manager (who sees every new squad and rep of East).
ORG_LISTS = {"teams": (_grow_teams, 2), "users": (_grow_users, 5)}


@pytest.mark.parametrize("caller", ["alice", "manager", "admin", "token"])
@pytest.mark.parametrize("name", list(LISTS))
def test_pipeline_list_query_count_does_not_grow(world: World, caller: str, name: str):
    url_of, grow, start = LISTS[name]
    if caller == "token":
        client = token_client(api_token_create(user=world.org.alice, name="q", scopes=["deals:read"])[1])
        client.get("/api/v1/me/")  # first use records last_used_at; the next minute's requests do not write
    else:
        client = session_client(getattr(world.org, caller))
    extra = {"alice": 0, "token": 0, "manager": 2, "admin": 3}[caller] if name != "transitions" else 0
    url = url_of(world)

    small = _queries(client, url, start + extra)
    grow(world, 99)
    large = _queries(client, url, start + extra + 99)

    assert small == large


@pytest.mark.parametrize("name", list(ORG_LISTS))
def test_org_list_query_count_does_not_grow(world: World, name: str):
    grow, start = ORG_LISTS[name]
    client = session_client(world.org.manager)
    url = f"/api/v1/{name}/"

    small = _queries(client, url, start)
    grow(world, 99)
    large = _queries(client, url, start + 99)

    assert small == large


@pytest.mark.parametrize("who", ["alice", "manager"])
def test_deal_list_query_budget(world: World, who: str):
    """The deal list a token reads: the token with its user and the teams they manage (one query), the count
    (then cached briefly, see pipeline/api/deal_count.py), and the page with every name."""
    user = getattr(world.org, who)
    _, key = api_token_create(user=user, name="q", scopes=["deals:read"])
    client = token_client(key)
    client.get("/api/v1/me/")  # the first use records last_used_at; later requests in the minute do not write
    _grow_deals(world, 20)
    visible = 21 if who == "alice" else 23
    assert _queries(client, "/api/v1/deals/", visible) == 3
    assert _queries(client, "/api/v1/deals/", visible) == 2  # the count is cached for COUNT_TTL seconds
